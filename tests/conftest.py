"""Shared fixtures: tiny networks (1 block, 8 channels) as engines and as checkpoints on disk.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import games
from games import Game

# pytest caches each test module's rewritten assertions in __pycache__ only where bytecode
# may be written; with PYTHONDONTWRITEBYTECODE set, every run would rewrite all of them
# again (a third of the fast loop's time on 2 cores).
sys.dont_write_bytecode = False


def _tiny_net(game: Game, seed: int = 0) -> Any:
    import torch

    from learner.network import NetworkConfig, PolicyValueNet

    torch.manual_seed(seed)
    config = NetworkConfig(blocks=1, channels=8, value_hidden=8)
    return config, PolicyValueNet(game, config)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``tiny_checkpoint("go", size=9) -> run dir`` holding one checkpoint of a tiny network (cached)."""
    from learner.checkpoint import save_checkpoint

    made: dict[str, Path] = {}

    def make(name: str, **options: Any) -> Path:
        game = games.make(name, **options)
        key = repr(game)
        if key not in made:
            run_dir = tmp_path_factory.mktemp(f"ckpt-{name}")
            config, net = _tiny_net(game)
            save_checkpoint(
                run_dir, game=game, network_config=config, weights=net.state_dict(), step=1, weights_version=1
            )
            made[key] = run_dir
        return made[key]

    return make


@pytest.fixture(scope="session")
def tiny_engine() -> Callable[..., Any]:
    """``tiny_engine(game, sims=4, seconds=None) -> Engine`` over a tiny freshly initialised network."""
    from cluster.engines.engine import Engine, EngineConfig
    from learner.inference import TorchEvaluator

    def make(game: Game | str, sims: int | None = 4, seconds: float | None = None, **options: Any) -> Engine:
        if isinstance(game, str):
            game = games.make(game, **options)
        _, net = _tiny_net(game)
        return Engine(game, TorchEvaluator(net), EngineConfig(sims=sims, seconds=seconds), source="tiny test network")

    return make


@pytest.fixture(scope="module")
def one_torch_thread() -> Any:
    """Torch on one thread for a module's tests, as the engines run (torch's threads are per process)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def _ray_session() -> Any:
    """One embedded Ray instance (2 CPUs) for every test that needs one, started by the product's own path."""
    import ray

    from cluster.runtime.ray_setup import start_local_ray

    yield lambda: ray.is_initialized() or start_local_ray(num_cpus=2)
    if ray.is_initialized():
        ray.shutdown()


@pytest.fixture
def local_ray(_ray_session: Any) -> None:
    """A running embedded Ray: the session's (started again if a multi-node test replaced it)."""
    _ray_session()
