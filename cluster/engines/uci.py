"""The engine as a UCI chess engine (``zeroplay uci``); :mod:`cluster.external.uci` drives other UCI engines.

Commands: ``uci`` (``id name``/``id author``, the options, ``uciok``), ``isready``
(``readyok``, at once, even while searching), ``ucinewgame``, ``position
startpos|fen <FEN> [moves ...]`` (at most 11,897 moves), ``go``, ``stop``,
``ponderhit`` (treated as ``stop``), ``setoption``, ``quit``. Input is read while
a search runs in a background thread, which ``stop`` ends within one simulation step.
A ``position`` that extends the previous one (the GUI's game went on) plays only the
new moves, so its cost does not grow with the game.

Options: ``Move Overhead`` (spin, milliseconds, default ``--move-overhead``, 0..10000):
the time kept back from every timed move for the answer's own latency. Other
options are accepted and ignored.

``go`` limits: ``nodes N`` = N simulations; ``depth D`` = D simulations (MCTS has
no depth; a documented stand-in); both at most 1,000,000 (larger ones are searched as
that); ``movetime T`` = T ms for the move; ``wtime/btime [winc/binc] [movestogo M]``
= about ``time / M + 0.75 * increment`` (M = 30 when not given), at most 80% of the
remaining time (:func:`cluster.engines.timing.clock_budget`); ``infinite`` and
``ponder`` = until ``stop`` (``bestmove`` only after it; a search that reaches
1,000,000 simulations waits for it); ``mate`` and ``searchmoves`` are accepted and
ignored; a bare ``go`` = ``--sims``/``--seconds``. A move's time runs from the moment
``go`` is read, and the answer comes by then (see :mod:`cluster.engines.timing`).
When done: one ``info nodes N time MS nps X score cp C pv MOVE`` line, with ``C =
111.714640912 * tan(1.5620688421 * v)`` (Leela Chess Zero's mapping of the searched
value ``v`` in [-1, 1]), then ``bestmove MOVE`` (``bestmove (none)`` when the side
to move is mated or stalemated). ``nodes 0`` means a budget too short for one
simulation: the network alone chose.

Errors: an ``info string error: ...`` line, and the engine keeps running. A bad FEN,
an illegal or malformed move in ``position``: the last good position is kept. A bad
``go`` argument (not a finite number >= 0, an unknown word): named, left out, and the
search runs with the other limits (or the defaults), so every ``go`` gets its
``bestmove``. Input that is not UTF-8, or a line over 1 MiB: named and ignored.
Nothing but protocol goes to stdout.

The GUI decides when its game is over: the engine follows it under chess rules
without zeroplay's adjudication (``Chess(adjudicate=False)``: repetitions and the
fifty-move rule are claims, insufficient material and the training ply cap are
the GUI's to declare), so it accepts and searches every position with a legal
move, keeping the history the network sees.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Sequence
from typing import IO, Any, TextIO

from cluster.engines.engine import Analysis, Engine, EngineError
from cluster.engines.lines import InputLineError, read_lines
from cluster.engines.loading import apply_text
from cluster.engines.timing import MAX_MOVE_OVERHEAD, TimeConfig, TimingError, clock_budget
from games import GameError
from games.chess import MAX_PLIES, Chess, ChessState
from selfplay.search.config import MAX_SIMULATIONS

#: The most moves a ``position`` command may carry (the longest game the fifty-move rule allows).
MAX_POSITION_MOVES = MAX_PLIES
_NUMBER_ARGUMENTS = ("wtime", "btime", "winc", "binc", "movestogo", "depth", "nodes", "mate", "movetime")
_FLAG_ARGUMENTS = ("infinite", "ponder")


def value_to_cp(value: float) -> int:
    """Leela Chess Zero's centipawn mapping of a value in [-1, 1]."""
    v = max(-0.9999, min(0.9999, float(value)))
    return int(round(111.714640912 * math.tan(1.5620688421 * v)))


@dataclasses.dataclass(frozen=True)
class GoLimits:
    """The limits of one ``go`` command, as sent (times in milliseconds; None where not given).

    Every number is finite and >= 0 (:func:`parse_go` leaves out the others).
    """

    nodes: float | None = None
    depth: float | None = None
    movetime: float | None = None
    wtime: float | None = None
    btime: float | None = None
    winc: float | None = None
    binc: float | None = None
    movestogo: float | None = None
    infinite: bool = False


def parse_go(args: Sequence[str]) -> tuple[GoLimits, list[str]]:
    """The limits of ``go ARGS``, and one message per argument left out (not a finite number >= 0, unknown)."""
    values: dict[str, Any] = {}
    errors: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        i += 1
        if word in _FLAG_ARGUMENTS:
            values["infinite"] = True
        elif word in _NUMBER_ARGUMENTS:
            if i >= len(args) or args[i] in _NUMBER_ARGUMENTS or args[i] in _FLAG_ARGUMENTS:
                errors.append(f"go: {word} needs a number")
                continue
            text = args[i]
            i += 1
            try:
                number = float(text)
            except ValueError:
                errors.append(f"go: {word} {text[:40]!r} is not a number")
                continue
            if not math.isfinite(number) or number < 0:
                errors.append(f"go: {word} {text[:40]!r} must be a finite number >= 0")
            elif word != "mate":
                values[word] = number
        elif word == "searchmoves":  # accepted and ignored: the moves up to the next keyword
            while i < len(args) and args[i] not in _NUMBER_ARGUMENTS and args[i] not in _FLAG_ARGUMENTS:
                i += 1
        else:
            errors.append(f"go: unknown argument {word[:40]!r}")
    return GoLimits(**values), errors


class UciEngine:
    """A UCI session over one engine; replies go to ``out`` (thread-safe, flushed per line).

    Args:
        engine: the searcher (a chess network).
        out: where protocol lines go.
        game: the chess game whose history and ply scale the network expects (default ``engine.game``);
            positions are followed without its adjudication.
        log: where to write diagnostics (None: nowhere).
    """

    def __init__(self, engine: Engine, out: TextIO, game: Chess | None = None, *, log: TextIO | None = None) -> None:
        game = game or engine.game  # type: ignore[assignment]
        if not isinstance(game, Chess):
            raise EngineError(f"UCI plays chess; the engine plays {game!r}")
        self.engine = engine
        self.out = out
        self.game = game
        self.log = log
        self.quit = False
        self._lock = threading.Lock()
        self.state: ChessState = self._game(None).initial_state()
        # The last position command's start (None: startpos), moves and position, to extend.
        self._line: tuple[str | None, list[str], ChessState] = (None, [], self.state)
        self._thread: threading.Thread | None = None
        self._searching = False
        self._stop = threading.Event()

    # ------------------------------------------------------------------ output

    def emit(self, line: str) -> None:
        with self._lock:
            self.out.write(line + "\n")
            self.out.flush()

    def _error(self, message: str) -> None:
        self.emit(f"info string error: {' '.join(message.split())}")

    # ------------------------------------------------------------------ loop

    def run(self, stdin: IO[Any]) -> int:
        """Process ``stdin`` until ``quit`` or end of input (a running timed search is finished first)."""
        for line in read_lines(stdin):
            if isinstance(line, InputLineError):
                self._error(str(line))
                continue
            self.handle(line)
            if self.quit:
                break
        else:
            self.wait(stop_infinite=True)
        return 0

    def handle(self, line: str) -> None:
        """Process one command line."""
        tokens = line.split()
        if not tokens:
            return
        command, args = tokens[0], tokens[1:]
        if command == "uci":
            overhead = round(self.engine.timing.config.move_overhead * 1000)
            self.emit(f"id name zeroplay {_version()} ({self.engine.name})")
            self.emit("id author zeroplay")
            most = round(MAX_MOVE_OVERHEAD * 1000)
            self.emit(f"option name Move Overhead type spin default {overhead} min 0 max {most}")
            self.emit("uciok")
        elif command == "isready":
            self.emit("readyok")
        elif command == "ucinewgame":
            self.wait(stop_infinite=True, stop=True)
            self.state = self._game(None).initial_state()
        elif command == "position":
            self._position(args)
        elif command == "go":
            self._go(args)
        elif command in ("stop", "ponderhit"):
            self._stop.set()
        elif command == "quit":
            self.wait(stop_infinite=True, stop=True)
            self.quit = True
        elif command == "setoption":
            self._setoption(args)
        elif command in ("debug", "register"):
            if self.log is not None:
                print(f"uci: ignored {line.strip()[:200]!r}", file=self.log, flush=True)
        else:
            self._error(f"unknown command {command[:40]!r}")
    def wait(self, *, stop_infinite: bool = False, stop: bool = False) -> None:
        """Wait for a running search (stopping it first if ``stop``; an infinite one if ``stop_infinite``)."""
        thread = self._thread
        if thread is None:
            return
        if stop or (stop_infinite and getattr(thread, "infinite", False)):
            self._stop.set()
        thread.join()
        self._thread = None

    @property
    def searching(self) -> bool:
        """Whether a ``go`` has not been answered yet (its ``bestmove`` not written)."""
        return self._searching

    def _setoption(self, args: Sequence[str]) -> None:
        text = " ".join(args)
        name, _, value = text.partition(" value ")
        name = name.removeprefix("name ").strip()
        if name.lower() != "move overhead":
            if self.log is not None:
                print(f"uci: ignored option {name[:80]!r}", file=self.log, flush=True)
            return
        try:
            milliseconds = float(value)
            self.engine.timing.config = TimeConfig(move_overhead=milliseconds / 1000)
        except (ValueError, TimingError):
            self._error(f"setoption Move Overhead: {value.strip()[:40]!r} is not a number of ms in 0..10000")

    # ------------------------------------------------------------------ position

    def _game(self, fen: str | None) -> Chess:
        return Chess(fen=fen, history=self.game.history, max_plies=self.game.max_plies, adjudicate=False)

    def _position(self, args: Sequence[str]) -> None:
        if not args:
            self._error("position needs 'startpos' or 'fen <FEN>'")
            return
        if args[0] == "startpos":
            fen, rest = None, list(args[1:])
        elif args[0] == "fen":
            end = args.index("moves") if "moves" in args else len(args)
            fen, rest = " ".join(args[1:end]), list(args[end:])
            if not fen:
                self._error("position fen: missing FEN")
                return
        else:
            self._error(f"position: expected 'startpos' or 'fen', got {args[0][:40]!r}")
            return
        if rest and rest[0] != "moves":
            self._error(f"position: expected 'moves', got {rest[0][:40]!r}")
            return
        if len(rest) - 1 > MAX_POSITION_MOVES:
            self._error(f"position: {len(rest) - 1} moves, at most {MAX_POSITION_MOVES}")
            return
        moves = rest[1:]
        line_fen, line_moves, state = self._line
        if fen == line_fen and moves[: len(line_moves)] == line_moves:
            done = len(line_moves)  # the GUI's game went on: only its new moves are played
        else:
            try:
                state = self._game(fen).initial_state()
            except GameError as err:
                self._error(f"bad FEN: {err}")
                return
            done = 0
        for i in range(done, len(moves)):
            try:
                state = apply_text(state, moves[i])
            except GameError as err:
                self._error(f"position: move {i + 1} ({moves[i][:40]!r}): {err}")
                return
        self.state = state
        self._line = (fen, moves, state)

    # ------------------------------------------------------------------ search

    def _go(self, args: Sequence[str]) -> None:
        received = self.engine.timing.clock()
        if self.searching:
            self._error("go while searching (send stop first)")
            return
        self.wait()
        limits, errors = parse_go(args)
        for message in errors:
            self._error(message)
        sims, seconds, infinite = self.plan(limits)
        self._stop = threading.Event()
        thread = threading.Thread(
            target=self._search, args=(self.state, sims, seconds, infinite, self._stop, received), daemon=True
        )
        thread.infinite = infinite  # type: ignore[attr-defined]
        self._thread = thread
        self._searching = True
        thread.start()

    def plan(self, limits: GoLimits) -> tuple[int | None, float | None, bool]:
        """``(sims, seconds, until_stopped)`` for ``limits`` in the current position (see the module docstring)."""
        if limits.infinite:
            return None, None, True
        sims: int | None = None
        seconds: float | None = None
        count = limits.nodes if limits.nodes is not None else limits.depth
        if count is not None:
            sims = int(max(1.0, min(count, MAX_SIMULATIONS)))
        white = self.state.to_play == 0
        remaining = limits.wtime if white else limits.btime
        if limits.movetime is not None:
            seconds = limits.movetime / 1000.0
        elif remaining is not None:
            increment = (limits.winc if white else limits.binc) or 0.0
            seconds = clock_budget(remaining / 1000.0, increment / 1000.0, limits.movestogo)
        if sims is None and seconds is None:
            return self.engine.config.sims, self.engine.config.seconds, False
        return sims, seconds, False

    def _search(
        self, state: ChessState, sims: int | None, seconds: float | None, infinite: bool, stop: threading.Event,
        received: float,
    ) -> None:
        best = "(none)"
        try:
            if not state.is_terminal():
                analysis = self.engine.analyse(state, sims=sims, seconds=seconds, stop=stop, received=received)
                best = state.action_to_text(analysis.action)
                ms = max(1, int(analysis.seconds * 1000))
                self.emit(
                    f"info nodes {analysis.simulations} time {ms} nps {int(analysis.simulations * 1000 / ms)} "
                    f"score {uci_score(analysis)} pv {best}"
                )
        except Exception as err:  # noqa: BLE001 - a failed search must still answer the GUI
            self._error(f"search failed: {type(err).__name__}: {err}")
            legal = state.legal_actions()
            if legal:
                best = state.action_to_text(legal[0])
        if infinite:
            stop.wait()
        with self._lock:  # answered: a go read from now on is not "while searching"
            self._searching = False
            self.out.write(f"bestmove {best}\n")
            self.out.flush()


def uci_score(analysis: Analysis) -> str:
    """The UCI score of an analysis: ``mate N`` (negative: mated) for a proven win or loss, else ``cp``.

    UCI counts mate in moves of the engine's side: a win in 1 or 2 plies is mate 1, in 3 or 4
    plies mate 2; a loss in 2 plies is mate -1. A proven draw is ``cp 0``.
    """
    if analysis.proven is not None and analysis.plies_to_end is not None:
        if analysis.proven > 0:
            return f"mate {(analysis.plies_to_end + 1) // 2}"
        if analysis.proven < 0:
            return f"mate -{max(1, analysis.plies_to_end // 2)}"
        return "cp 0"
    return f"cp {value_to_cp(analysis.value)}"


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("zeroplay")
    except Exception:  # noqa: BLE001
        return "0"






