"""The engine as a UCI chess engine (``zeroplay uci``); :mod:`cluster.external.uci` drives other UCI engines.

Commands: ``uci`` (``id name``/``id author``/``uciok``), ``isready`` (``readyok``, at
once, even while searching), ``ucinewgame``, ``position startpos|fen <FEN>
[moves ...]``, ``go``, ``stop``, ``ponderhit`` (treated as ``stop``), ``setoption``
(accepted and ignored: no options are offered), ``quit``. Input is read while a
search runs in a background thread, which ``stop`` ends between chunks of
simulations.

``go`` limits: ``nodes N`` = N simulations; ``depth D`` = D simulations (MCTS has
no depth; a documented stand-in); ``movetime T`` = T ms (minus a small margin);
``wtime/btime [winc/binc] [movestogo M]`` = about ``time / min(M, 30) + 0.75 *
increment``, at most half the remaining time; ``infinite`` and ``ponder`` = until
``stop`` (``bestmove`` only after it); a bare ``go`` = ``--sims``/``--seconds``.
When done: one ``info nodes N time MS nps X score cp C pv MOVE`` line, with ``C =
111.714640912 * tan(1.5620688421 * v)`` (Leela Chess Zero's mapping of the searched
value ``v`` in [-1, 1]), then ``bestmove MOVE`` (``bestmove (none)`` when the side
to move is mated or stalemated).

Errors (a bad FEN, an illegal or malformed move in ``position``, an unknown
command): an ``info string error: ...`` line; the last good position is kept and
the engine keeps running. Nothing but protocol goes to stdout.

The GUI decides when its game is over: the engine follows it under chess rules
without zeroplay's adjudication (``Chess(adjudicate=False)``: repetitions and the
fifty-move rule are claims, insufficient material and the training ply cap are
the GUI's to declare), so it accepts and searches every position with a legal
move, keeping the history the network sees.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import TextIO

from cluster.engines.engine import Engine, EngineError
from cluster.engines.loading import apply_text
from games import GameError
from games.chess import Chess, ChessState

#: A simulation count no search reaches: "until stopped".
_UNLIMITED = 1 << 40


def value_to_cp(value: float) -> int:
    """Leela Chess Zero's centipawn mapping of a value in [-1, 1]."""
    v = max(-0.9999, min(0.9999, float(value)))
    return int(round(111.714640912 * math.tan(1.5620688421 * v)))


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
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # ------------------------------------------------------------------ output

    def emit(self, line: str) -> None:
        with self._lock:
            self.out.write(line + "\n")
            self.out.flush()

    def _error(self, message: str) -> None:
        self.emit(f"info string error: {' '.join(message.split())}")

    # ------------------------------------------------------------------ loop

    def run(self, stdin: TextIO) -> int:
        """Process ``stdin`` until ``quit`` or end of input (a running timed search is finished first)."""
        for line in stdin:
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
            self.emit(f"id name zeroplay {_version()} ({self.engine.name})")
            self.emit("id author zeroplay")
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
        elif command in ("setoption", "debug", "register"):
            if self.log is not None:
                print(f"uci: ignored {line.strip()!r}", file=self.log, flush=True)
        else:
            self._error(f"unknown command {command!r}")

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
        return self._thread is not None and self._thread.is_alive()

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
            self._error(f"position: expected 'startpos' or 'fen', got {args[0]!r}")
            return
        if rest and rest[0] != "moves":
            self._error(f"position: expected 'moves', got {rest[0]!r}")
            return
        try:
            state = self._game(fen).initial_state()
        except GameError as err:
            self._error(f"bad FEN: {err}")
            return
        for i, move in enumerate(rest[1:]):
            try:
                state = apply_text(state, move)
            except GameError as err:
                self._error(f"position: move {i + 1} ({move!r}): {err}")
                return
        self.state = state

    # ------------------------------------------------------------------ search

    def _go(self, args: Sequence[str]) -> None:
        if self.searching:
            self._error("go while searching (send stop first)")
            return
        self.wait()
        try:
            sims, seconds, infinite = self._limits(args)
        except ValueError as err:
            self._error(str(err))
            return
        self._stop = threading.Event()
        thread = threading.Thread(
            target=self._search, args=(self.state, sims, seconds, infinite, self._stop), daemon=True
        )
        thread.infinite = infinite  # type: ignore[attr-defined]
        self._thread = thread
        thread.start()

    def _limits(self, args: Sequence[str]) -> tuple[int | None, float | None, bool]:
        """(sims, seconds, infinite) from ``go`` arguments; ValueError names a bad one."""
        values: dict[str, float] = {}
        infinite = False
        keys = {"wtime", "btime", "winc", "binc", "movestogo", "depth", "nodes", "mate", "movetime"}
        i = 0
        while i < len(args):
            word = args[i]
            if word in ("infinite", "ponder"):
                infinite = True
                i += 1
            elif word in keys:
                if i + 1 >= len(args):
                    raise ValueError(f"go: {word} needs a number")
                try:
                    values[word] = float(args[i + 1])
                except ValueError:
                    raise ValueError(f"go: {word} {args[i + 1]!r} is not a number") from None
                i += 2
            elif word == "searchmoves":
                i += 1
                while i < len(args) and args[i] not in keys and args[i] not in ("infinite", "ponder"):
                    i += 1
            else:
                raise ValueError(f"go: unknown argument {word!r}")
        if infinite:
            return _UNLIMITED, None, True
        sims: int | None = None
        seconds: float | None = None
        if "nodes" in values:
            sims = max(1, int(values["nodes"]))
        if "depth" in values:
            sims = max(1, int(values["depth"])) if sims is None else sims
        if "movetime" in values:
            seconds = max(0.005, values["movetime"] / 1000.0 - 0.02)
        white = self.state.to_play == 0
        clock = values.get("wtime" if white else "btime")
        if clock is not None and seconds is None:
            inc = values.get("winc" if white else "binc", 0.0) / 1000.0
            remaining = clock / 1000.0
            moves = min(values.get("movestogo", 30.0), 30.0) or 1.0
            budget = remaining / moves + 0.75 * inc
            seconds = max(0.005, min(budget, remaining / 2) - 0.03)
        if sims is None and seconds is None:
            return self.engine.config.sims, self.engine.config.seconds, False
        return sims, seconds, False

    def _search(
        self, state: ChessState, sims: int | None, seconds: float | None, infinite: bool, stop: threading.Event
    ) -> None:
        best = "(none)"
        try:
            if not state.is_terminal():
                analysis = self.engine.analyse(state, sims=sims, seconds=seconds, stop=stop)
                best = state.action_to_text(analysis.action)
                ms = max(1, int(analysis.seconds * 1000))
                self.emit(
                    f"info nodes {analysis.simulations} time {ms} nps {int(analysis.simulations * 1000 / ms)} "
                    f"score cp {value_to_cp(analysis.value)} pv {best}"
                )
        except Exception as err:  # noqa: BLE001 - a failed search must still answer the GUI
            self._error(f"search failed: {type(err).__name__}: {err}")
        if infinite:
            stop.wait()
        self.emit(f"bestmove {best}")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("zeroplay")
    except Exception:  # noqa: BLE001
        return "0"






