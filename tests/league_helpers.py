"""Hand-made targets for the exploitability tests: networks whose play is known in advance."""

from __future__ import annotations

from pathlib import Path

import games


def lowest_square_checkpoint(directory: Path, *, sims: int = 1) -> Path:
    """A tic-tac-toe checkpoint whose network always prefers the lowest legal square (value 0 everywhere).

    The policy head's last layer has zero weights and bias ``-3 * action``, so the prior is
    ``softmax(-3a)`` over the legal moves whatever the position; the value head says 0. Its
    stored run configuration searches ``sims`` simulations (1: the prior's move). Returns the
    checkpoint's metadata file.
    """
    import torch

    from cluster.config.run import dump_toml, resolve
    from learner.checkpoint import save_checkpoint
    from learner.network import NetworkConfig, PolicyValueNet

    game = games.make("tictactoe")
    network = NetworkConfig(blocks=1, channels=8, value_hidden=8)
    torch.manual_seed(0)
    net = PolicyValueNet(game, network)
    with torch.no_grad():
        policy = net.policy_head[-1]
        policy.weight.zero_()
        policy.bias.copy_(-3.0 * torch.arange(game.num_actions, dtype=torch.float32))
        value = net.value_head[6]
        value.weight.zero_()
        value.bias.zero_()
    config = resolve("tictactoe", assignments=[f"search.num_simulations={sims}", "network.blocks=1",
                                               "network.channels=8", "network.value_hidden=8"])
    return save_checkpoint(directory, game=game, network_config=network, weights=net.state_dict(), step=7,
                           weights_version=3, run_config={"toml": dump_toml(config)})
