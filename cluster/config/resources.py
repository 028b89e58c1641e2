"""What a training run needs of a machine's memory, estimated before Ray starts, and the check against it.

:func:`validate_resources` refuses a configuration whose replay buffer, learner or
self-play search cannot fit the memory of the machine (:class:`Machine`), with a
:class:`~cluster.config.settings.ConfigError` that names the keys, the estimate and
the machine's memory. The estimates (bytes) follow the arrays the run allocates, with
``(C, H, W)`` the observation shape, ``A`` the number of actions and ``P`` the
network's parameters:

* replay buffer: ``replay.capacity x (2CHW + A + 4A + 4 + 8)``, the ring
  ``learner.ReplayBuffer`` preallocates (float16 observation, bool legal mask, float32
  policy and value targets, int64 weights version);
* learner: ``(3 + k) x 4P`` for weights, gradients, ``k`` optimizer states (1 for SGD's
  momentum, 2 for AdamW) and the published CPU copy, plus the tower's activations kept
  for the backward pass, ``4 x train.batch_size x (1 + 2 x network.blocks) x
  network.channels x H x W``;
* self-play actor: ``4P`` for its model copy (with ``inference = "local"``) plus the
  arena ``selfplay.search`` preallocates for one search over its G games:
  ``G x (num_simulations + 1)`` nodes of ``49 + 32 x min(A, 48)`` bytes.

Each is a lower bound (Python objects, torch workspaces and Ray's own processes come on
top). Each part must fit the machine's memory; on an embedded Ray instance, where every
actor runs on this machine, all of them together must.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import games
from cluster.config.run import RunConfig
from cluster.config.settings import ConfigError
from learner.config import NetworkConfig
from selfplay.trajectory import has_final_area

# Keep in sync with selfplay.search._Arena: per node n, w0, sgn, raw0 (float64), terminal (bool),
# estart, ecount (int64); per edge action, child (int64), prior, logp (float64); edges preallocated
# per node: min(num_actions, 48).
ARENA_NODE_BYTES = 6 * 8 + 1
ARENA_EDGE_BYTES = 4 * 8
ARENA_EDGES_PER_NODE = 48


@dataclasses.dataclass(frozen=True)
class Machine:
    """What the validation compares against.

    Attributes:
        memory_bytes: memory this process may use: the physical memory, or a smaller
            cgroup limit (a container's).
        cpus: CPUs (``os.cpu_count()``, which the embedded Ray instance is given).
    """

    memory_bytes: int
    cpus: int

    @classmethod
    def detect(cls) -> Machine:
        """This machine (``os.sysconf`` or ``/proc/meminfo``, then the cgroup's memory limit)."""
        memory = _physical_memory()
        limit = _cgroup_memory_limit()
        if limit is not None:
            memory = min(memory, limit)
        return cls(memory_bytes=memory, cpus=os.cpu_count() or 1)


def _physical_memory() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        pass
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    raise ConfigError("cannot tell how much memory this machine has (no sysconf, no /proc/meminfo)")


def _cgroup_memory_limit() -> int | None:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if text.isdigit() and 0 < int(text) < 1 << 60:  # v1 reports "no limit" as a huge number
            return int(text)
    return None


def network_parameters(game: games.Game, network: NetworkConfig) -> int:
    """Trainable parameters of ``learner.PolicyValueNet(game, network)``, counted without building it."""
    c_in, h, w = (int(d) for d in game.observation_shape)
    a = int(game.num_actions)
    ch, pc, vc, vh = network.channels, network.policy_channels, network.value_channels, network.value_hidden
    stem = c_in * ch * 9 + 2 * ch  # conv3x3 (no bias) + BatchNorm
    block = 2 * (ch * ch * 9 + 2 * ch)
    policy = ch * pc + 2 * pc + pc * h * w * a + a
    value = ch * vc + 2 * vc + vc * h * w * vh + vh + vh + 1
    return stem + network.blocks * block + policy + value


def replay_position_bytes(game: games.Game) -> int:
    """Bytes of one position in the replay buffer's ring (see the module docstring)."""
    a = int(game.num_actions)
    shape = [int(d) for d in game.observation_shape]
    per_position = 2 * math.prod(shape) + a + 4 * a + 4 + 8
    if has_final_area(game):  # ownership (float16 per point), score (float32), area mask (bool)
        per_position += 2 * math.prod(shape[1:]) + 4 + 1
    return per_position


@dataclasses.dataclass(frozen=True)
class MemoryEstimate:
    """Lower bounds of a run's memory, in bytes (see the module docstring).

    Attributes:
        replay_position_bytes: one position of the replay buffer.
        replay_bytes: the whole replay buffer.
        parameters: P, the network's parameters.
        learner_state_bytes: the learner's weights, gradients, optimizer state and published copy.
        learner_activation_bytes: activations of one training batch.
        arena_node_bytes: one node of the search arena (with its preallocated edges).
        arena_bytes: one self-play actor's search arena.
        actor_bytes: one self-play actor (its model copy, if local, and its arena).
        inference_bytes: the shared inference actor's model (0 with local inference).
        actors: self-play actors counted (``selfplay.actors``, or the machine's CPUs left for them).
    """

    replay_position_bytes: int
    replay_bytes: int
    parameters: int
    learner_state_bytes: int
    learner_activation_bytes: int
    arena_node_bytes: int
    arena_bytes: int
    actor_bytes: int
    inference_bytes: int
    actors: int

    @property
    def learner_bytes(self) -> int:
        return self.learner_state_bytes + self.learner_activation_bytes

    @property
    def total_bytes(self) -> int:
        return self.replay_bytes + self.learner_bytes + self.actors * self.actor_bytes + self.inference_bytes


def estimate_memory(config: RunConfig, machine: Machine) -> MemoryEstimate:
    """The memory ``config`` needs at least (the actors of ``selfplay.actors = 0`` counted for ``machine``)."""
    game = config.make_game()
    _, h, w = (int(d) for d in game.observation_shape)
    net, sp = config.network, config.selfplay
    position = replay_position_bytes(game)
    parameters = network_parameters(game, net)
    optimizer_states = 2 if config.train.optimizer == "adamw" else 1
    node = ARENA_NODE_BYTES + ARENA_EDGE_BYTES * min(int(game.num_actions), ARENA_EDGES_PER_NODE)
    arena = sp.games_per_actor * (config.search.num_simulations + 1) * node
    shared = sp.inference == "shared"
    actors = sp.actors
    if actors == 0:  # one per CPU beyond the learner's (and the inference actor's)
        reserved = config.run.learner_num_cpus + (sp.inference_num_cpus if shared else 0.0)
        actors = max(1, machine.cpus - math.ceil(reserved))
    return MemoryEstimate(
        replay_position_bytes=position,
        replay_bytes=config.replay.capacity * position,
        parameters=parameters,
        learner_state_bytes=(3 + optimizer_states) * 4 * parameters,
        learner_activation_bytes=4 * config.train.batch_size * (1 + 2 * net.blocks) * net.channels * h * w,
        arena_node_bytes=node,
        arena_bytes=arena,
        actor_bytes=arena + (0 if shared else 4 * parameters),
        inference_bytes=4 * parameters if shared else 0,
        actors=actors,
    )


def validate_resources(config: RunConfig, machine: Machine, *, embedded: bool = True) -> MemoryEstimate:
    """Refuse a run whose parts cannot fit ``machine``'s memory; returns the estimate.

    Args:
        embedded: every actor runs on ``machine`` (an embedded Ray instance), so the sum
            of the parts must fit too; on a cluster only each part must (the replay
            actor lives on the head node, the others wherever Ray puts them).

    Raises:
        ConfigError: naming the keys that size the part, the estimate and the machine's memory.
    """
    e = estimate_memory(config, machine)
    memory = machine.memory_bytes
    has = f"more than this machine's {_size(memory)} of memory"
    if e.replay_bytes > memory:
        game = config.make_game()
        raise ConfigError(
            f"replay.capacity = {config.replay.capacity} needs about {_size(e.replay_bytes)} for the replay buffer "
            f"({config.replay.capacity} positions x {e.replay_position_bytes} bytes: observation "
            f"{2 * math.prod(game.observation_shape)}, legal mask and policy {5 * game.num_actions}, "
            f"value and version 12), {has}; at most about {memory // e.replay_position_bytes:,} positions fit"
        )
    net = config.network
    network = (
        f"network.blocks = {net.blocks} x network.channels = {net.channels} make a network of "
        f"{e.parameters:,} parameters"
    )
    if e.learner_state_bytes > memory:
        raise ConfigError(
            f"{network}; the learner needs about {_size(e.learner_state_bytes)} for its weights, gradients, "
            f"optimizer state and published copy, {has}"
        )
    if e.learner_bytes > memory:
        raise ConfigError(
            f"train.batch_size = {config.train.batch_size} with {network}: the learner needs about "
            f"{_size(e.learner_bytes)} ({_size(e.learner_activation_bytes)} of activations for one batch, "
            f"{_size(e.learner_state_bytes)} for the network and its optimizer), {has}"
        )
    if e.actor_bytes > memory:
        sp = config.selfplay
        raise ConfigError(
            f"selfplay.games_per_actor = {sp.games_per_actor} x search.num_simulations = "
            f"{config.search.num_simulations}: each self-play actor's search arena needs about "
            f"{_size(e.arena_bytes)} ({sp.games_per_actor} games x {config.search.num_simulations + 1} nodes x "
            f"{e.arena_node_bytes} bytes), {has}"
        )
    if embedded and e.total_bytes > memory:
        inference = f", inference actor {_size(e.inference_bytes)}" if e.inference_bytes else ""
        raise ConfigError(
            f"the run needs about {_size(e.total_bytes)} of memory on this machine (replay buffer "
            f"{_size(e.replay_bytes)}, learner {_size(e.learner_bytes)}, {e.actors} self-play actor(s) x "
            f"{_size(e.actor_bytes)}{inference}) but it has {_size(memory)}: lower replay.capacity, "
            f"selfplay.actors, selfplay.games_per_actor or search.num_simulations"
        )
    return e


def _size(n: int) -> str:
    """Bytes in binary units: ``512 B``, ``8.0 GiB``, ``9.4 TiB``."""
    size = float(n)
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    for unit in units:
        if size < 1024 or unit == units[-1]:
            break
        size /= 1024
    return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
