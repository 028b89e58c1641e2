"""Players for matches: checkpoints, baselines and external GTP/UCI engines.

A :class:`Player` is driven by :func:`cluster.arena.match.play_game`:

* ``new_game(game, initial_state)`` before every game;
* ``choose(state) -> action`` when it is the player's turn (a legal action; an
  external engine may instead raise :class:`Resignation` or :class:`ExternalEngineError`);
* ``observe(state, action)`` after EVERY move of the game (both players' moves and
  random opening moves), with the position the move was played in;
* ``close()`` once at the end (stops external processes).

Player specs (:func:`parse_player`):

==============================  =====================================================
``random``                      uniformly random legal moves (seeded)
``mcts-rollouts:N``             MCTS with ``N`` simulations, uniform prior, value from
                                one random playout per leaf; no network
``fresh``                       a freshly initialised network for the match game
``gtp:CMD``                     a Go engine speaking GTP, e.g.
                                ``gtp:/usr/games/gnugo --mode gtp --level 1``
``uci:CMD``                     a chess engine speaking UCI, e.g. ``uci:/usr/games/stockfish``
anything else                   a checkpoint file, checkpoints dir or run dir
==============================  =====================================================

External engines are driven by :class:`cluster.external.gtp.GtpClient` and, through
python-chess's ``chess.engine``, :class:`cluster.external.uci.UciEngineClient` (imported lazily).
"""

from __future__ import annotations

import os
import random
import shlex
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from games import Game, GameError, NotationError, State
from games.chess import Chess, ChessState
from games.errors import ZeroplayError
from games.go import Go, GoState


class PlayerError(ZeroplayError, ValueError):
    """A player spec that cannot be used (unknown, wrong game, unstartable engine); names it."""


class Resignation(ZeroplayError):
    """Raised by ``choose`` when the player resigns."""


class ExternalEngineError(ZeroplayError, RuntimeError):
    """An external engine misbehaved (crashed, timed out, sent an unusable move).

    The match ends the game as a loss for that engine and records ``str(err)``.
    """


class RulesDisagreement(ZeroplayError):
    """An external engine refused a move our rules accept; the game is void (not counted)."""


@runtime_checkable
class Player(Protocol):
    """What a match needs from a player (see the module docstring)."""

    name: str

    def new_game(self, game: Game, initial_state: State) -> None: ...

    def choose(self, state: State) -> int: ...

    def observe(self, state: State, action: int) -> None: ...

    def close(self) -> None: ...


class _BasePlayer:
    """No-op ``new_game``/``observe``/``close``."""

    name = "player"

    def new_game(self, game: Game, initial_state: State) -> None:
        pass

    def observe(self, state: State, action: int) -> None:
        pass

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


# ----------------------------------------------------------------------------- in-process players
class RandomPlayer(_BasePlayer):
    """Uniformly random legal moves from ``random.Random(seed)``."""

    def __init__(self, seed: int = 0) -> None:
        self.name = "random"
        self._rng = random.Random(seed)

    def choose(self, state: State) -> int:
        return self._rng.choice(state.legal_actions())


class RolloutMctsPlayer(_BasePlayer):
    """``mcts-rollouts:N``: PUCT search with a uniform prior and random-playout values (no network)."""

    def __init__(self, sims: int, seed: int = 0) -> None:
        if isinstance(sims, bool) or not isinstance(sims, int) or sims < 1:
            raise PlayerError(f"mcts-rollouts needs a positive number of simulations, got {sims!r}")
        self.name = f"mcts-rollouts:{sims}"
        self.sims = sims
        self._rng = np.random.default_rng(seed)
        self._evaluator: Any = None
        self._game: Game | None = None

    def new_game(self, game: Game, initial_state: State) -> None:
        from selfplay import RolloutEvaluator

        if self._game != game:
            self._game = game
            self._evaluator = RolloutEvaluator(game, self._rng)

    def choose(self, state: State) -> int:
        from selfplay import SearchConfig, search

        if self._evaluator is None:
            self.new_game(state.game, state)
        config = SearchConfig(num_simulations=self.sims)
        result = search([state], self._evaluator, config, self._rng, add_noise=False)
        return int(result.outputs[0].action)


class EnginePlayer(_BasePlayer):
    """A network (checkpoint or fresh) searched by :class:`cluster.engines.engine.Engine`; deterministic."""

    def __init__(self, engine: Any, label: str | None = None) -> None:
        self.engine = engine
        self.name = label or f"{engine.source} (v{engine.weights_version})"

    def choose(self, state: State) -> int:
        return self.engine.choose(state)


# ----------------------------------------------------------------------------- external players
def _argv(command: str, what: str) -> list[str]:
    try:
        argv = shlex.split(command)
    except ValueError as err:
        raise PlayerError(f"{what} command {command!r} cannot be parsed: {err}") from None
    if not argv:
        raise PlayerError(f"{what.lower()}: player needs a command, e.g. {what.lower()}:/usr/games/...")
    return argv


class GtpPlayer(_BasePlayer):
    """A Go engine over GTP (``gtp:CMD``), driven by :class:`cluster.external.gtp.GtpClient`.

    Each game: ``boardsize``, ``clear_board``, ``komi``; the moves played since the
    engine's last ``genmove`` are sent with ``play`` just before the next ``genmove``.
    ``resign`` raises :class:`Resignation`; an unparseable vertex, a crash or a
    time-out raises :class:`ExternalEngineError`; a ``play`` of a move that the engine
    refuses raises :class:`RulesDisagreement`. A dead engine is restarted at the next game.
    """

    def __init__(self, command: str, timeout: float = 120.0) -> None:
        self.command = command
        self.argv = _argv(command, "GTP")
        self.timeout = timeout
        self.name = f"gtp:{command}"
        self._client: Any = None
        self._history: list[tuple[str, str]] = []  # (colour, vertex)
        self._synced = 0
        self._start()

    def _start(self) -> None:
        from cluster.external.gtp import GtpClient, GtpError, ProcessError

        try:
            self._client = GtpClient(self.argv, name=f"GTP engine {self.command!r}")
            self._client.command("protocol_version", timeout=self.timeout)
        except (GtpError, ProcessError) as err:
            self.close()
            raise PlayerError(f"GTP engine {self.command!r} did not start: {err}") from None

    def _ask(self, text: str) -> str:
        from cluster.external.gtp import GtpError, ProcessError

        try:
            return self._client.command(text, timeout=self.timeout)
        except GtpError as err:
            raise ExternalEngineError(str(err)) from None
        except ProcessError as err:
            raise self._lost(err) from None

    def _lost(self, err: Exception) -> ExternalEngineError:
        """The engine died or stopped answering: drop it (the next game starts a new one)."""
        self.close()
        return ExternalEngineError(str(err))

    def new_game(self, game: Game, initial_state: State) -> None:
        if not isinstance(game, Go) or not isinstance(initial_state, GoState):
            raise PlayerError(f"gtp: players play Go only, not {game.name}")
        if initial_state.stones(0) or initial_state.stones(1) or initial_state.to_play != 0:
            raise PlayerError("gtp: players need games that start from the empty board with Black to move")
        if self._client is None or self._client.process.poll() is not None:
            self.close()
            self._start()
        self._ask(f"boardsize {game.size}")
        self._ask("clear_board")
        self._ask(f"komi {game.komi:g}")
        self._history = []
        self._synced = 0

    def observe(self, state: State, action: int) -> None:
        self._history.append(("B" if state.to_play == 0 else "W", state.action_to_text(action)))

    def choose(self, state: State) -> int:
        from cluster.external.gtp import GtpError, ProcessError

        for colour, vertex in self._history[self._synced :]:
            try:
                self._client.command(f"play {colour} {vertex}", timeout=self.timeout)
            except GtpError as err:
                raise RulesDisagreement(
                    f"GTP engine {self.command!r} refused 'play {colour} {vertex}': {err.message}"
                ) from None
            except ProcessError as err:
                raise self._lost(err) from None
            self._synced += 1
        answer = self._ask(f"genmove {'B' if state.to_play == 0 else 'W'}")
        text = answer.split()[0] if answer.split() else ""
        if text.lower() == "resign":
            raise Resignation(f"{self.name} resigned")
        try:
            action = state.parse_action(text)
        except NotationError as err:
            raise ExternalEngineError(f"GTP engine {self.command!r} answered genmove with {answer!r}: {err}") from None
        self._synced += 1  # the engine has played it; the match's observe() records it for us
        return action

    def close(self) -> None:
        if self._client is not None:
            self._client.quit()
            self._client = None


class UciPlayer(_BasePlayer):
    """A chess engine over UCI (``uci:CMD``), driven through python-chess's ``chess.engine``
    (:class:`cluster.external.uci.UciEngineClient`): the options once at start, then per move
    ``position startpos|fen F moves ...`` and ``go movetime N`` (``ucinewgame`` at each new game).

    An unusable ``bestmove`` or ``bestmove (none)`` raises :class:`ExternalEngineError`; so do a
    crash or a time-out (``timeout`` seconds beyond the move time), after which the engine is
    dropped and a new one started at the next game. An engine that cannot start, or refuses an
    option, raises :class:`PlayerError`.
    """

    def __init__(
        self, command: str, movetime_ms: int = 100, options: Sequence[tuple[str, str]] = (), timeout: float = 60.0
    ) -> None:
        if movetime_ms < 1:
            raise PlayerError(f"UCI movetime must be >= 1 ms, got {movetime_ms}")
        self.command = command
        self.argv = _argv(command, "UCI")
        self.movetime_ms = int(movetime_ms)
        self.options = tuple(options)
        self.timeout = timeout
        self.name = f"uci:{command}"
        self._client: Any = None
        self._board: Any = None
        self._game: object = None
        self._start()

    def _start(self) -> None:
        from cluster.external.transport import ProcessError
        from cluster.external.uci import UciEngineClient, UciError

        try:
            self._client = UciEngineClient(
                self.argv, name=f"UCI engine {self.command!r}", options=self.options, timeout=self.timeout
            )
        except (ProcessError, UciError) as err:
            raise PlayerError(f"UCI engine {self.command!r} did not start: {err}") from None

    def new_game(self, game: Game, initial_state: State) -> None:
        import chess

        from cluster.external.transport import ProcessError

        if not isinstance(initial_state, ChessState):
            raise PlayerError(f"uci: players play chess only, not {game.name}")
        if self._client is None:
            self._start()
        try:
            self._client.ping()
        except ProcessError as err:
            raise self._lost(err) from None
        self._board = chess.Board(initial_state.fen())
        self._game = object()  # a new game: python-chess sends ucinewgame before its first move

    def observe(self, state: State, action: int) -> None:
        self._board.push(state.move(action))

    def choose(self, state: State) -> int:
        from cluster.external.transport import ProcessError
        from cluster.external.uci import UciError

        if self._client is None:
            raise ExternalEngineError(f"UCI engine {self.command!r} is gone (it failed earlier in this game)")
        try:
            move = self._client.best_move(self._board, movetime=self.movetime_ms / 1000.0, game=self._game)
        except UciError as err:
            raise ExternalEngineError(str(err)) from None
        except ProcessError as err:
            raise self._lost(err) from None
        if move is None:
            raise ExternalEngineError(f"UCI engine {self.command!r} has no move (bestmove (none)) in:\n{state}")
        try:
            return state.parse_action(move.uci())
        except GameError as err:
            raise ExternalEngineError(f"UCI engine {self.command!r} answered bestmove {move.uci()!r}: {err}") from None

    def _lost(self, err: Exception) -> ExternalEngineError:
        """The engine died or stopped answering: drop it (the next game starts a new one)."""
        self.close()
        return ExternalEngineError(str(err))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


# ----------------------------------------------------------------------------- specs
def _compatible(a: Game, b: Game) -> bool:
    return a.name == b.name and a.num_actions == b.num_actions and a.observation_shape == b.observation_shape


def checkpoint_game(path: str) -> Game:
    """The game a checkpoint (file, checkpoints dir or run dir) was trained on."""
    import games
    from learner import CheckpointError, load_checkpoint

    try:
        ckpt = load_checkpoint(path, load_training_state=False)
        return games.from_spec(dict(ckpt.game_spec))
    except (CheckpointError, GameError) as err:
        raise PlayerError(f"player {path!r}: {err}") from None


def is_builtin_spec(text: str) -> bool:
    """Whether ``text`` names a baseline or external player (no checkpoint to read)."""
    return text in ("random", "fresh") or text.split(":", 1)[0] in ("mcts-rollouts", "gtp", "uci")


def parse_player(
    text: str,
    game: Game,
    engine_config: Any,
    *,
    seed: int = 0,
    uci_movetime_ms: int = 100,
    uci_options: Sequence[tuple[str, str]] = (),
    engine_timeout: float = 120.0,
) -> Player:
    """Build the player named by ``text`` for ``game`` (see the module docstring).

    A checkpoint's game must be ``game`` up to options that leave the network's
    shapes alone (komi, ko rule, move caps): the network then plays under ``game``'s rules.

    Raises:
        PlayerError: an unknown spec, a checkpoint of another game, an engine that
            cannot start or does not play ``game`` (the message names the spec).
    """
    spec = text.strip()
    kind, _, arg = spec.partition(":")
    if spec == "random":
        return RandomPlayer(seed)
    if kind == "mcts-rollouts":
        try:
            sims = int(arg)
        except ValueError:
            raise PlayerError(
                f"player {text!r}: expected mcts-rollouts:<simulations>, e.g. mcts-rollouts:400"
            ) from None
        return RolloutMctsPlayer(sims, seed)
    if kind == "gtp":
        if not isinstance(game, Go):
            raise PlayerError(f"player {text!r}: gtp: engines play Go, but the match game is {game.name}")
        return GtpPlayer(arg.strip(), timeout=engine_timeout)
    if kind == "uci":
        if not isinstance(game, Chess):
            raise PlayerError(f"player {text!r}: uci: engines play chess, but the match game is {game.name}")
        return UciPlayer(arg.strip(), uci_movetime_ms, uci_options, timeout=engine_timeout)

    from cluster.engines.engine import Engine, EngineError

    if spec == "fresh":
        try:
            engine = Engine.load(None, engine_config, game_spec=game.spec())
        except EngineError as err:
            raise PlayerError(f"player {text!r}: {err}") from None
        return EnginePlayer(engine, f"fresh network ({game.name})")
    if not os.path.exists(spec):
        raise PlayerError(
            f"unknown player {text!r}: expected random, mcts-rollouts:N, fresh, gtp:CMD, uci:CMD "
            "or an existing checkpoint file / run directory"
        )
    try:
        engine = Engine.load(spec, engine_config)
    except EngineError as err:
        raise PlayerError(f"player {text!r}: {err}") from None
    if not _compatible(engine.game, game):
        raise PlayerError(f"player {text!r}: checkpoint is for {engine.game!r}, but the match game is {game!r}")
    if engine.game != game:  # same network shapes, other rules options: play under the match's rules
        engine = Engine(
            game,
            engine.evaluate,
            engine.config,
            weights_version=engine.weights_version,
            source=engine.source,
            metadata=engine.metadata,
        )
    return EnginePlayer(engine, f"{spec} (v{engine.weights_version})")
