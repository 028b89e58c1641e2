"""Finished self-play games: the :class:`Trajectory` record, its wire format and training arrays.

Wire format (``encode``/``decode``): one msgpack map with exactly the keys

* ``"format"``: ``"zeroplay.trajectory"``; ``"version"``: :data:`FORMAT_VERSION`;
* ``"game"``: the game spec (``Game.spec()``), a map of at most :data:`MAX_SPEC_KEYS`
  (16) entries, the name and the options: str keys of at most 64 characters to None,
  bool, int (within int64), finite float or str (at most :data:`MAX_SPEC_STR` = 256
  characters);
* ``"weights_version"``: int in ``[0, MAX_WEIGHTS_VERSION]`` (``2**62``);
* ``"actions"``: array int64 ``[T]`` with ``T <= game.max_game_length``;
* ``"policy_lengths"``: array int64 ``[T]``, the number of legal moves at each ply,
  each in ``[1, game.num_actions]``, or 0 for a ply whose search recorded no policy
  target (a cheap search of playout cap randomization; version 2);
* ``"policies"``: array float32 ``[sum(policy_lengths)]``, the policies concatenated;
* ``"root_values"``: array float32 ``[T]``, finite, in [-1, 1];
* ``"returns"``: list of two finite numbers in [-1, 1], one per player;
* ``"termination"``: ``"terminal"`` or ``"resigned"``, and in version 2 also ``"adjudicated"``
  (a result decided outside the rules, see :class:`Trajectory`); ``"resigned_by"``: 0, 1 or None;
* version 2 only: ``"resign_threshold"``: the resignation threshold self-play used for
  this game (a number in [-1, 1]) or None (resignation off); ``"playthrough"``: bool,
  True for a game whose resignation was switched off to measure false resignations
  (it is played to the end, whatever the threshold says); ``"opponent"``: None for a
  self-play game, else the name (1..64 characters) of the frozen opponent the learner
  played (a league snapshot, an exploited target); ``"trained_side"``: None (both
  players' moves are training data) or the player (0 or 1) whose moves alone are.

Version 1 records (no cheap plies, no resignation fields, no ``"adjudicated"`` ending) still
decode. Keep in sync with :mod:`selfplay.from_records`, which writes ``"adjudicated"`` games.

An array is a map ``{"dtype": "<i8" | "<f4", "shape": [..], "data": bytes}`` with
little-endian raw data whose length must match the shape.

``decode`` treats its input as untrusted: every failure, whatever its cause, is
raised as :class:`TrajectoryError` (a ``ValueError``) naming the reason, and the
game is replayed through the rules with checked moves. Memory is bounded by the
input: msgpack builds at most a few small containers (:func:`_unpackb`), and the
record's number of plies is checked against its game's ``max_game_length``
before anything is allocated per ply.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import msgpack
import numpy as np

import games
from games.base import Game, State
from games.errors import ZeroplayError

FORMAT_NAME = "zeroplay.trajectory"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
# The largest weights version a record may carry: int64 with headroom, so that
# differences of versions (the policy lag) never overflow int64 either.
MAX_WEIGHTS_VERSION = 2**62
MAX_SPEC_KEYS = 16
MAX_SPEC_STR = 256
_MAX_SPEC_KEY_LEN = 64
_INT64 = (-(2**63), 2**63 - 1)
# What msgpack may build for one record: the format has 11 containers (the record,
# the game spec, four array maps with their shapes, the returns), none longer than
# the game spec; the limits leave room for a clear error message about a bad field.
_MAX_CONTAINERS = 16
_MAX_MAP_LEN = 32
_MAX_ARRAY_LEN = 16
_MAX_STR_LEN = 1024
TERMINATIONS = ("terminal", "resigned", "adjudicated")
#: The terminations each format version may carry ("adjudicated" is new in version 2).
VERSION_TERMINATIONS = {1: ("terminal", "resigned"), 2: TERMINATIONS}
_PROB_TOLERANCE = 1e-3
_KEYS = frozenset(
    {
        "format",
        "version",
        "game",
        "weights_version",
        "actions",
        "policy_lengths",
        "policies",
        "root_values",
        "returns",
        "termination",
        "resigned_by",
    }
)
_KEYS_V2 = _KEYS | {"resign_threshold", "playthrough", "opponent", "trained_side"}


class TrajectoryError(ZeroplayError, ValueError):
    """A trajectory (usually bytes from elsewhere) that is malformed or inconsistent with the rules."""


@dataclasses.dataclass(frozen=True, eq=False)
class Trajectory:
    """One finished game as self-play produced it.

    Attributes:
        game_spec: ``Game.spec()`` of the game played.
        weights_version: the network version that played the game's FIRST move
            (the oldest version involved when the evaluator changed mid-game).
        actions: int64 ``[T]``, the moves in order.
        policies: ``T`` float32 arrays; entry ``t`` is the search policy at ply ``t``
            over that position's LEGAL actions in increasing action order (so its
            length is the number of legal moves there; it sums to 1), or an empty array
            when ply ``t``'s search recorded no policy target (a cheap search).
        root_values: float32 ``[T]``, the search's root value, mover's view.
        returns: the outcome per player (zero-sum, in [-1, 1]).
        termination: ``"terminal"`` (the rules ended the game), ``"resigned"`` (the player to
            move resigned), or ``"adjudicated"``: the result was decided outside the rules, as a
            game record may say (a resignation by the side that did not move last, an
            adjudicated or territory score, an agreed draw, a game cut at the move cap). The
            returns are then the record's (zero-sum, in [-1, 1]) and are not checked against
            the final position, which may or may not be terminal.
        resigned_by: the player who resigned (the player to move at the end), else None.
        resign_threshold: the resignation threshold in effect for this game (None: off).
        playthrough: resignation was off for this game so that its false resignations
            can be counted (:mod:`selfplay.resignation`).
        opponent: the frozen opponent the learner played, or None for self-play.
        trained_side: the player whose moves alone are training data (a game against an
            opponent), or None for both.
    """

    game_spec: dict
    weights_version: int
    actions: np.ndarray  # int64 [T]
    policies: tuple  # T x float32 [num_legal_t]
    root_values: np.ndarray  # float32 [T]
    returns: tuple  # [num_players] float
    termination: str = "terminal"
    resigned_by: int | None = None
    resign_threshold: float | None = None
    playthrough: bool = False
    opponent: str | None = None
    trained_side: int | None = None

    @property
    def num_moves(self) -> int:
        return len(self.actions)

    @property
    def num_training_positions(self) -> int:
        """The plies that are training examples: all, or only ``trained_side``'s (who moves at even plies if 0)."""
        if self.trained_side is None:
            return self.num_moves
        return (self.num_moves + 1 - self.trained_side) // 2

    def game(self) -> Game:
        return games.from_spec(dict(self.game_spec))


# --------------------------------------------------------------------------- encode


def _pack_array(arr: np.ndarray, dtype: str) -> dict:
    a = np.ascontiguousarray(arr, dtype=np.dtype(dtype))
    return {"dtype": dtype, "shape": list(a.shape), "data": a.tobytes()}


def encode(trajectory: Trajectory) -> bytes:
    """The msgpack bytes of ``trajectory`` (see the module docstring for the format)."""
    policies = [np.asarray(p, dtype=np.float32).reshape(-1) for p in trajectory.policies]
    lengths = np.array([len(p) for p in policies], dtype=np.int64)
    flat = np.concatenate(policies) if policies else np.zeros(0, dtype=np.float32)
    message = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "game": dict(trajectory.game_spec),
        "weights_version": int(trajectory.weights_version),
        "actions": _pack_array(np.asarray(trajectory.actions).reshape(-1), "<i8"),
        "policy_lengths": _pack_array(lengths, "<i8"),
        "policies": _pack_array(flat, "<f4"),
        "root_values": _pack_array(np.asarray(trajectory.root_values).reshape(-1), "<f4"),
        "returns": [float(r) for r in trajectory.returns],
        "termination": str(trajectory.termination),
        "resigned_by": None if trajectory.resigned_by is None else int(trajectory.resigned_by),
        "resign_threshold": None if trajectory.resign_threshold is None else float(trajectory.resign_threshold),
        "playthrough": bool(trajectory.playthrough),
        "opponent": trajectory.opponent,
        "trained_side": None if trajectory.trained_side is None else int(trajectory.trained_side),
    }
    return msgpack.packb(message, use_bin_type=True)


# --------------------------------------------------------------------------- decode


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


class _TooManyContainers(Exception):
    pass


def _unpackb(data: bytes, max_bytes: int) -> Any:
    """msgpack of an untrusted record, building at most ``_MAX_CONTAINERS`` small containers.

    msgpack alone would build every map and array the bytes describe (an empty map is
    1 byte of input and ~64 bytes of memory); the hooks count them as they are built.
    """
    built = 0

    def count(obj: Any) -> Any:
        nonlocal built
        built += 1
        if built > _MAX_CONTAINERS:
            raise _TooManyContainers
        return obj

    try:
        return msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            use_list=True,
            object_hook=count,
            list_hook=count,
            max_bin_len=max_bytes,
            max_str_len=_MAX_STR_LEN,
            max_array_len=_MAX_ARRAY_LEN,
            max_map_len=_MAX_MAP_LEN,
            max_ext_len=0,
        )
    except _TooManyContainers:
        raise TrajectoryError(f"more than {_MAX_CONTAINERS} maps and arrays in the record") from None
    except Exception as err:  # noqa: BLE001 - any parser failure is a bad record
        raise TrajectoryError(f"not valid msgpack: {type(err).__name__}: {err}") from None


def _unpack_array(message: dict, key: str, dtype: str, max_len: int, bound: str = "") -> np.ndarray:
    """A 1-D array field of at most ``max_len`` entries (checked before it is copied).

    ``bound`` says where ``max_len`` comes from, for the error message.
    """
    obj = message[key]
    if not isinstance(obj, dict) or set(obj) != {"dtype", "shape", "data"}:
        raise TrajectoryError(f"{key}: expected an array map with keys dtype, shape, data")
    if obj["dtype"] != dtype:
        raise TrajectoryError(f"{key}: dtype {obj['dtype']!r}, expected {dtype!r}")
    shape = obj["shape"]
    if not isinstance(shape, list) or len(shape) != 1 or not all(_is_int(d) and d >= 0 for d in shape):
        raise TrajectoryError(f"{key}: bad shape {shape!r} (expected 1 non-negative int)")
    data = obj["data"]
    if not isinstance(data, bytes):
        raise TrajectoryError(f"{key}: data must be bytes")
    dt = np.dtype(dtype)
    expected = dt.itemsize * shape[0]
    if len(data) != expected:
        raise TrajectoryError(f"{key}: {len(data)} data bytes for shape {shape} ({expected} expected)")
    if shape[0] > max_len:
        raise TrajectoryError(f"{key}: {shape[0]} entries, at most {max_len}{bound}")
    return np.frombuffer(data, dtype=dt).astype(dt.newbyteorder("="))


def _check_spec(spec: Any) -> dict:
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise TrajectoryError("game: must be a map with a string 'name'")
    if len(spec) > MAX_SPEC_KEYS:
        raise TrajectoryError(f"game: {len(spec)} entries, at most {MAX_SPEC_KEYS} (the name and the options)")
    for k, v in spec.items():
        if not isinstance(k, str):
            raise TrajectoryError("game: option names must be strings")
        if len(k) > _MAX_SPEC_KEY_LEN:
            raise TrajectoryError(f"game: option name {k[:20]!r}... longer than {_MAX_SPEC_KEY_LEN} characters")
        if v is not None and not isinstance(v, (str, int, float, bool)):
            raise TrajectoryError(f"game: option {k!r} has unsupported type {type(v).__name__}")
        if isinstance(v, float) and not math.isfinite(v):
            raise TrajectoryError(f"game: option {k!r} is not finite")
        if _is_int(v) and not _INT64[0] <= v <= _INT64[1]:
            raise TrajectoryError(f"game: option {k!r} = {v} is outside int64")
        if isinstance(v, str) and len(v) > MAX_SPEC_STR:
            raise TrajectoryError(f"game: option {k!r} is {len(v)} characters, at most {MAX_SPEC_STR}")
    return spec


def _game_of(spec: dict) -> Game:
    try:
        return games.from_spec(dict(spec))
    except Exception as err:  # noqa: BLE001 - a spec the rules refuse, whatever the reason
        raise TrajectoryError(f"game spec {spec!r} not accepted: {err}") from None


def decode(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Trajectory:
    """Parse and fully validate untrusted bytes (see :func:`validate`).

    Raises:
        TrajectoryError: for anything wrong, including oversized input (> ``max_bytes``);
            nothing else escapes (not MemoryError, RecursionError or OverflowError either).
    """
    trajectory, game = parse(data, max_bytes=max_bytes)
    validate(trajectory, game)
    return trajectory


def parse(
    data: bytes, *, game: Game | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[Trajectory, Game]:
    """The record's fields, type-, range- and size-checked, and its game; not replayed.

    Everything :func:`decode` checks except what needs the replay through the rules
    (legal moves, policy lengths against them, the end of the game). Cheap: no rules
    are run, and memory is bounded by ``len(data)``.

    Args:
        data: the encoded record (untrusted).
        game: if given, the record must be a game of ``game`` (and its spec need not
            be built into a game again).
        max_bytes: the largest record accepted.

    Raises:
        TrajectoryError: for anything wrong (nothing else escapes).
    """
    try:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TrajectoryError(f"expected bytes, got {type(data).__name__}")
        if len(data) > max_bytes:
            raise TrajectoryError(f"{len(data)} bytes exceeds the limit of {max_bytes}")
        message = _unpackb(bytes(data), max_bytes)
        if not isinstance(message, dict):
            raise TrajectoryError("the record is not a map")
        version = message.get("version")
        if not _is_int(version) or version not in READABLE_VERSIONS:
            raise TrajectoryError(f"unsupported format version {version!r} (this code reads {READABLE_VERSIONS})")
        keys = _KEYS_V2 if version == 2 else _KEYS
        if set(message) != keys:
            missing, extra = sorted(keys - set(message)), sorted(map(str, set(message) - keys))
            raise TrajectoryError(f"wrong keys: missing {missing}, unexpected {extra}")
        if message["format"] != FORMAT_NAME:
            raise TrajectoryError(f"format {message['format']!r} is not {FORMAT_NAME!r}")
        threshold, playthrough = message.get("resign_threshold"), message.get("playthrough", False)
        _check_resignation(threshold, playthrough)
        opponent, trained_side = message.get("opponent"), message.get("trained_side")
        _check_opponent(opponent, trained_side)
        spec = _check_spec(message["game"])
        returns = message["returns"]
        if not isinstance(returns, list) or not all(_is_number(r) for r in returns):
            raise TrajectoryError("returns must be a list of numbers")
        _check_scalars(message["weights_version"], returns, message["termination"], message["resigned_by"])
        if message["termination"] not in VERSION_TERMINATIONS[version]:
            raise TrajectoryError(
                f"termination {message['termination']!r} is not allowed in format version {version} "
                f"(one of {VERSION_TERMINATIONS[version]})"
            )
        if game is None or spec != game.spec():
            recorded = _game_of(spec)
            if game is not None and recorded != game:
                raise TrajectoryError(f"game {spec} is not this run's {game.spec()}")
            game = recorded
        longest = int(game.max_game_length)
        actions = _unpack_array(message, "actions", "<i8", longest, f" (plies) in a {game.name} game")
        t = len(actions)
        lengths = _unpack_array(message, "policy_lengths", "<i8", longest)
        root_values = _unpack_array(message, "root_values", "<f4", longest)
        if len(lengths) != t or len(root_values) != t:
            raise TrajectoryError(
                f"lengths differ: {t} actions, {len(lengths)} policy lengths, {len(root_values)} root values"
            )
        least = 0 if version >= 2 else 1  # 0: no policy target at that ply (version 2)
        if (lengths < least).any() or (lengths > game.num_actions).any():
            raise TrajectoryError(
                f"policy_lengths must lie in {least}..{game.num_actions} (the legal moves of a ply)"
            )
        # Bounded by T * num_actions now: the sum cannot overflow int64.
        flat = _unpack_array(message, "policies", "<f4", t * game.num_actions)
        if int(lengths.sum()) != len(flat):
            raise TrajectoryError("policy_lengths do not partition the policies")
        ends = np.cumsum(lengths).tolist()
        policies = tuple(flat[end - n : end] for n, end in zip(lengths.tolist(), ends, strict=True))
        trajectory = Trajectory(
            game_spec=spec,
            weights_version=message["weights_version"],
            actions=actions,
            policies=policies,
            root_values=root_values,
            returns=tuple(float(r) for r in returns),
            termination=message["termination"],
            resigned_by=message["resigned_by"],
            resign_threshold=None if threshold is None else float(threshold),
            playthrough=bool(playthrough),
            opponent=opponent,
            trained_side=trained_side,
        )
        return trajectory, game
    except TrajectoryError:
        raise
    except Exception as err:  # noqa: BLE001 - nothing but TrajectoryError may escape
        raise TrajectoryError(f"invalid trajectory: {type(err).__name__}: {err}") from None


def _check_scalars(weights_version: Any, returns: Any, termination: Any, resigned_by: Any) -> None:
    """Types and ranges of the record's scalar fields."""
    if not _is_int(weights_version) or not 0 <= weights_version <= MAX_WEIGHTS_VERSION:
        raise TrajectoryError(f"weights_version must be an int in [0, 2**62] (got {weights_version!r})")
    returns = tuple(returns)
    if len(returns) != 2:
        raise TrajectoryError(f"returns has {len(returns)} entries, expected 2")
    if not all(_is_number(r) and math.isfinite(r) for r in returns):
        raise TrajectoryError(f"returns must be finite numbers (got {returns!r})")
    if not all(-1.0 <= r <= 1.0 for r in returns):
        raise TrajectoryError(f"returns must lie in [-1, 1] (got {returns!r})")
    if termination not in TERMINATIONS:
        raise TrajectoryError(f"termination {termination!r} not one of {TERMINATIONS}")
    if resigned_by is not None and (not _is_int(resigned_by) or resigned_by not in (0, 1)):
        raise TrajectoryError(f"resigned_by must be 0, 1 or None (got {resigned_by!r})")
    if termination == "adjudicated":
        if resigned_by is not None:
            raise TrajectoryError("resigned_by set on an adjudicated game (a resignation by the mover is 'resigned')")
        if returns[0] != -returns[1]:
            raise TrajectoryError(f"returns of an adjudicated game must be zero-sum (got {returns!r})")


def _check_resignation(threshold: Any, playthrough: Any) -> None:
    if threshold is not None and (not _is_number(threshold) or not math.isfinite(threshold)
                                  or not -1.0 <= threshold <= 1.0):
        raise TrajectoryError(f"resign_threshold must be None or a number in [-1, 1] (got {threshold!r})")
    if not isinstance(playthrough, bool):
        raise TrajectoryError(f"playthrough must be a bool (got {playthrough!r})")


def _check_opponent(opponent: Any, trained_side: Any) -> None:
    if opponent is not None and (not isinstance(opponent, str) or not 1 <= len(opponent) <= 64):
        raise TrajectoryError(f"opponent must be None or a name of 1..64 characters (got {opponent!r})")
    if trained_side is not None and (not _is_int(trained_side) or trained_side not in (0, 1)):
        raise TrajectoryError(f"trained_side must be 0, 1 or None (got {trained_side!r})")


def decode_training(
    data: bytes, game: Game, *, q_weight: float = 0.0, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[Trajectory, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`decode` untrusted bytes of a game of ``game`` and build its training examples.

    One replay through the rules both validates the game (as :func:`validate`) and
    builds the arrays of :func:`training_arrays`, so ingesting a game costs one replay.
    The arrays are allocated only once the record is known to be a game of ``game``
    with at most ``game.max_game_length`` plies, so memory is bounded by that game.
    :func:`decode_training_targets` also builds the ownership and score targets.

    Raises:
        TrajectoryError: for anything wrong, including a game other than ``game``.
    """
    trajectory, examples = _decode_examples(data, game, q_weight=q_weight, max_bytes=max_bytes)
    return trajectory, examples.arrays(trajectory, q_weight)


def decode_training_targets(
    data: bytes, game: Game, *, q_weight: float = 0.0, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[Trajectory, TrainingTargets]:
    """:func:`decode_training` with the final-area targets: every :class:`TrainingTargets` field.

    The same one replay through the rules (plus the last move once more, to reach the
    final position); the ownership and score targets are ``None`` for a game without a
    final area (:func:`has_final_area`).

    Raises:
        TrajectoryError: for anything wrong, including a game other than ``game``.
    """
    trajectory, examples = _decode_examples(data, game, q_weight=q_weight, max_bytes=max_bytes)
    return trajectory, examples.targets(trajectory, q_weight)


def _decode_examples(data: bytes, game: Game, *, q_weight: float, max_bytes: int) -> tuple[Trajectory, _Examples]:
    if not 0.0 <= q_weight <= 1.0:
        raise ValueError(f"q_weight must be in [0, 1], got {q_weight!r}")
    trajectory, _ = parse(data, game=game, max_bytes=max_bytes)
    try:
        examples = _Examples(game, len(trajectory.actions))
    except MemoryError:
        raise TrajectoryError(f"no memory for the training arrays of {len(trajectory.actions)} plies") from None
    validate(trajectory, game, visit=examples.visit)
    return trajectory, examples


def validate(
    trajectory: Trajectory, game: Game | None = None, *, visit: Callable[[int, State, np.ndarray], None] | None = None
) -> Game:
    """Check a trajectory against the rules; returns its game.

    Checks: the ranges of the module docstring (weights version, returns, resigned_by,
    at most ``game.max_game_length`` plies), finite values, policies >= 0 summing to
    1 (tolerance 1e-3) and as long as the legal-move count of their position, root
    values in [-1, 1], every action legal when replayed (checked ``apply``), and the
    end: a terminal position with exactly the recorded returns, a resignation by
    the player to move with returns -1 for them and +1 for the opponent, or an
    adjudicated result (zero-sum returns, no resigner; the final position is not
    checked against them). ``visit(ply, state, legal_mask [A])``,
    if given, sees each position of the replay before its move is applied.

    Raises:
        TrajectoryError: naming the first problem found.
    """
    try:
        _check_scalars(trajectory.weights_version, trajectory.returns, trajectory.termination, trajectory.resigned_by)
        _check_resignation(trajectory.resign_threshold, trajectory.playthrough)
        _check_opponent(trajectory.opponent, trajectory.trained_side)
        if game is None:
            game = _game_of(trajectory.game_spec)
        actions = np.asarray(trajectory.actions)
        root_values = np.asarray(trajectory.root_values)
        t = len(actions)
        if t > game.max_game_length:
            raise TrajectoryError(f"actions: {t} entries, at most {game.max_game_length} (plies) in a {game.name} game")
        if len(trajectory.policies) != t or len(root_values) != t:
            raise TrajectoryError("actions, policies and root values differ in length")
        if not np.isfinite(root_values).all():
            raise TrajectoryError("root values are not all finite")
        if (np.abs(root_values) > 1.0 + 1e-6).any():
            raise TrajectoryError("root values must lie in [-1, 1]")
        state = game.initial_state()
        for i, (action, policy) in enumerate(zip(actions.tolist(), trajectory.policies, strict=True)):
            policy = np.asarray(policy)
            if policy.ndim != 1 or not np.isfinite(policy).all():
                raise TrajectoryError(f"ply {i}: policy is not a finite vector")
            recorded = len(policy) > 0  # empty: no policy target at this ply (a cheap search)
            if recorded and ((policy < 0).any() or abs(float(policy.sum(dtype=np.float64)) - 1.0) > _PROB_TOLERANCE):
                raise TrajectoryError(f"ply {i}: policy is not a probability distribution")
            if state.is_terminal():
                raise TrajectoryError(f"ply {i}: move {action} played after the game ended")
            mask = state.legal_mask()
            num_legal = int(np.count_nonzero(mask))
            if recorded and len(policy) != num_legal:
                raise TrajectoryError(f"ply {i}: policy has {len(policy)} entries for {num_legal} legal moves")
            if visit is not None:
                visit(i, state, mask)
            try:
                state = state.apply(int(action))
            except games.GameError as err:
                raise TrajectoryError(f"ply {i}: {err}") from None
        returns = tuple(float(r) for r in trajectory.returns)
        if trajectory.termination == "terminal":
            if trajectory.resigned_by is not None:
                raise TrajectoryError("resigned_by set on a game that ended by the rules")
            if not state.is_terminal():
                raise TrajectoryError("the recorded moves do not end the game")
            if tuple(float(r) for r in state.returns()) != returns:
                raise TrajectoryError(f"recorded returns {returns} differ from the rules' {state.returns()}")
        elif trajectory.termination == "resigned":
            if state.is_terminal():
                raise TrajectoryError("resignation recorded in a finished game")
            if trajectory.resigned_by != state.to_play:
                raise TrajectoryError("only the player to move can resign")
            expected = tuple(-1.0 if p == state.to_play else 1.0 for p in range(2))
            if returns != expected:
                raise TrajectoryError(f"returns {returns} do not match a resignation by {trajectory.resigned_by}")
        elif trajectory.termination == "adjudicated":
            pass  # the record's result: zero-sum and in range (checked above), not the rules'
        else:
            raise TrajectoryError(f"termination {trajectory.termination!r} not one of {TERMINATIONS}")
        return game
    except TrajectoryError:
        raise
    except Exception as err:  # noqa: BLE001
        raise TrajectoryError(f"invalid trajectory: {type(err).__name__}: {err}") from None


# --------------------------------------------------------------------------- training


def has_final_area(game: Game) -> bool:
    """Whether ``game``'s positions have a Tromp-Taylor area (``ownership()`` and ``score()``): Go.

    Those games have ownership and score targets; tic-tac-toe, Connect Four and chess do not.
    """
    state = game.initial_state()
    return callable(getattr(state, "ownership", None)) and callable(getattr(state, "score", None))


class TrainingTargets(NamedTuple):
    """The training examples of one game (``T`` = its training positions, ``(H, W)`` = the board).

    The first four fields are the arrays of :func:`training_arrays`. The final-area fields
    come from the game's final position (Go's Tromp-Taylor area, ``GoState.ownership()``
    and ``GoState.score()``), each seen from the mover's side at each ply; they are
    ``None`` for a game without a final area (:func:`has_final_area`).

    Attributes:
        observations: float32 ``[T, C, H, W]`` (mover's view).
        legal_masks: bool ``[T, A]``.
        policy_targets: float32 ``[T, A]``.
        value_targets: float32 ``[T]``.
        ownership_targets: float32 ``[T, H, W]``: +1 where the mover owns the point at the end
            of the game, -1 the opponent, 0 nobody (rows top to bottom, as the observation;
            point ``(r, c)`` is action ``r * W + c``); all 0 where ``area_mask`` is False.
        score_targets: float32 ``[T]``: the final score from the mover's side, in points (the
            mover's area minus the opponent's, komi counted against White); 0 where
            ``area_mask`` is False.
        area_mask: bool ``[T]``: whether the row has ownership and score targets. False for
            every row of a resigned game (it has no final area: the game did not reach it).
    """

    observations: np.ndarray
    legal_masks: np.ndarray
    policy_targets: np.ndarray
    value_targets: np.ndarray
    ownership_targets: np.ndarray | None = None
    score_targets: np.ndarray | None = None
    area_mask: np.ndarray | None = None


def training_targets(trajectory: Trajectory, game: Game | None = None, *, q_weight: float = 0.0) -> TrainingTargets:
    """:func:`training_arrays` with the final-area targets (see :class:`TrainingTargets`)."""
    if not 0.0 <= q_weight <= 1.0:
        raise ValueError(f"q_weight must be in [0, 1], got {q_weight!r}")
    if game is None:
        game = games.from_spec(dict(trajectory.game_spec))
    return _replayed(trajectory, game).targets(trajectory, q_weight)


def _replayed(trajectory: Trajectory, game: Game) -> _Examples:
    examples = _Examples(game, len(trajectory.actions))
    state = game.initial_state()
    for i, action in enumerate(np.asarray(trajectory.actions).tolist()):
        examples.visit(i, state, state.legal_mask())
        state = state.apply(action)
    return examples


def training_arrays(
    trajectory: Trajectory, game: Game | None = None, *, q_weight: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Replay the game into training examples, one per ply.

    Args:
        trajectory: the game.
        game: its game object (default: built from the trajectory's spec).
        q_weight: weight of the search's root value in the value target:
            ``(1 - q_weight) * z + q_weight * q`` with ``z`` the final return and ``q``
            the root value, both from the mover's view. 0 is AlphaZero's target (the
            outcome alone); averaging with ``q`` lowers the noise that exploration
            moves add to ``z``.

    Returns:
        observations float32 ``[T, C, H, W]`` (mover's view), legal_masks bool ``[T, A]``,
        policy_targets float32 ``[T, A]`` (the stored policy scattered over the legal
        actions, 0 elsewhere), value_targets float32 ``[T]`` (see ``q_weight``).
    """
    if not 0.0 <= q_weight <= 1.0:
        raise ValueError(f"q_weight must be in [0, 1], got {q_weight!r}")
    if game is None:
        game = games.from_spec(dict(trajectory.game_spec))
    return _replayed(trajectory, game).arrays(trajectory, q_weight)


class _Examples:
    """The training arrays of one game, filled one ply at a time during a replay."""

    def __init__(self, game: Game, num_plies: int) -> None:
        self.game = game
        self.observations = np.zeros((num_plies, *game.observation_shape), dtype=np.float32)
        self.legal_masks = np.zeros((num_plies, game.num_actions), dtype=bool)
        self.movers = np.zeros(num_plies, dtype=np.int64)
        self.last_state: State | None = None  # the position before the last move

    def visit(self, ply: int, state: State, legal_mask: np.ndarray) -> None:
        self.observations[ply] = state.observation()
        self.legal_masks[ply] = legal_mask
        self.movers[ply] = state.to_play
        self.last_state = state

    def arrays(
        self, trajectory: Trajectory, q_weight: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        targets = np.zeros(self.legal_masks.shape, dtype=np.float32)
        for ply, policy in enumerate(trajectory.policies):
            if len(policy):  # a ply without a policy target keeps a row of zeros (no policy loss)
                targets[ply, self.legal_masks[ply]] = policy
        values = np.asarray(trajectory.returns, dtype=np.float32)[self.movers]
        if q_weight:
            values = (1.0 - q_weight) * values + q_weight * np.asarray(trajectory.root_values, dtype=np.float32)
        arrays = (self.observations, self.legal_masks, targets, values.astype(np.float32))
        return self._trained(trajectory, arrays)  # type: ignore[return-value]

    def targets(self, trajectory: Trajectory, q_weight: float) -> TrainingTargets:
        """:meth:`arrays` and the final-area targets (:class:`TrainingTargets`)."""
        basic = self.arrays(trajectory, q_weight)
        if not has_final_area(self.game):
            return TrainingTargets(*basic)
        t = len(self.movers)
        h, w = (int(d) for d in self.game.observation_shape[-2:])
        ownership = np.zeros((t, h, w), dtype=np.float32)
        scores = np.zeros(t, dtype=np.float32)
        area = np.zeros(t, dtype=bool)
        if trajectory.termination == "terminal":  # a resigned game never reached its final area
            final = self._final_state(trajectory)
            sign = (1.0 - 2.0 * self.movers).astype(np.float32)  # +1 where player 0 (Black) moves
            ownership[:] = sign[:, None, None] * np.asarray(final.ownership(), dtype=np.float32).reshape(1, h, w)
            scores[:] = sign * np.float32(final.score())
            area[:] = True
        return TrainingTargets(*basic, *self._trained(trajectory, (ownership, scores, area)))

    def _final_state(self, trajectory: Trajectory) -> State:
        """The position after the last move (the replay saw the one before it)."""
        if self.last_state is None:
            return self.game.initial_state()
        return self.last_state.apply(int(np.asarray(trajectory.actions)[-1]))

    def _trained(self, trajectory: Trajectory, arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """``arrays`` (one row per ply) restricted to the trained side's plies, if the game has one."""
        if trajectory.trained_side is None:
            return arrays
        keep = self.movers == trajectory.trained_side  # only the learner's moves of a game against an opponent
        return tuple(a[keep] for a in arrays)


__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORMAT_VERSION",
    "MAX_SPEC_KEYS",
    "MAX_SPEC_STR",
    "MAX_WEIGHTS_VERSION",
    "TERMINATIONS",
    "TrainingTargets",
    "Trajectory",
    "TrajectoryError",
    "decode",
    "decode_training",
    "decode_training_targets",
    "encode",
    "has_final_area",
    "parse",
    "training_arrays",
    "training_targets",
    "validate",
]
