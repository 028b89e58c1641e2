"""Drive an outside chess engine (Stockfish, ...) over UCI, with python-chess's ``chess.engine``.

:class:`UciEngineClient` wraps a ``chess.engine.SimpleEngine`` (the protocol, option
types and bounds, ``ucinewgame`` per game and the check of every ``bestmove`` are
python-chess's) and maps its failures onto :class:`~cluster.external.transport.ProcessError`
(the engine died, did not answer in time or could not start) and :class:`UciError`
(it answered, but not usably: an option it does not offer, an illegal ``bestmove``).
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterable, Sequence
from typing import Any

import chess
import chess.engine

from cluster.external.transport import ProcessError
from games.errors import ZeroplayError


class UciError(ZeroplayError, RuntimeError):
    """A UCI engine that answered unusably (a bad option, an illegal move); the message says what."""


_TIMEOUTS = (TimeoutError, concurrent.futures.TimeoutError)


class UciEngineClient:
    """A UCI engine process: ``UciEngineClient(["stockfish"]).best_move(board, movetime=0.1) -> chess.Move``.

    Args:
        argv: the command line.
        name: a label for error messages (default ``argv[0]``).
        options: ``setoption`` pairs, sent once after the handshake (values as text or numbers;
            python-chess checks them against the options the engine declares).
        timeout: seconds allowed for the handshake and for each command, on top of a move's own time.

    Raises:
        ProcessError: the engine cannot start or does not finish its handshake in time.
        UciError: an option the engine does not offer, or a value out of its range.
    """

    def __init__(
        self, argv: Sequence[str], *, name: str | None = None, options: Iterable[tuple[str, Any]] = (),
        timeout: float = 60.0,
    ) -> None:
        self.argv = list(argv)
        self.name = name or self.argv[0]
        try:
            self.engine = chess.engine.SimpleEngine.popen_uci(self.argv, timeout=timeout)
        except (OSError, chess.engine.EngineError, *_TIMEOUTS) as err:
            raise ProcessError(f"cannot start {self.name} ({' '.join(self.argv)}): {_describe(err)}") from None
        try:
            options = dict(options)
            if options:
                self.engine.configure(options)
            self.engine.ping()
        except (chess.engine.EngineTerminatedError, *_TIMEOUTS) as err:  # (a kind of EngineError: first)
            self.close()
            raise ProcessError(f"{self.name} failed after starting: {_describe(err)}") from None
        except chess.engine.EngineError as err:
            self.close()
            raise UciError(f"{self.name}: {err}") from None

    @property
    def id_name(self) -> str | None:
        """The engine's ``id name``."""
        return self.engine.id.get("name")

    def best_move(self, board: chess.Board, *, movetime: float, game: object = None) -> chess.Move | None:
        """The engine's move in ``board`` (its whole move stack is sent) within ``movetime`` seconds.

        ``game``: an object standing for the game; a new one sends ``ucinewgame`` first.
        Returns None for ``bestmove (none)`` or ``0000``.

        Raises:
            ProcessError: the engine died or did not answer within ``movetime`` plus the timeout.
            UciError: the answer names no legal move.
        """
        try:
            result = self.engine.play(board, chess.engine.Limit(time=movetime), game=game)
        except (chess.engine.EngineTerminatedError, *_TIMEOUTS) as err:  # (a kind of EngineError: first)
            raise ProcessError(f"{self.name}: {_describe(err)} in {board.fen()}") from None
        except chess.engine.EngineError as err:
            raise UciError(f"{self.name} answered unusably in {board.fen()}: {err}") from None
        return result.move or None

    def ping(self) -> None:
        """``isready`` .. ``readyok`` (ProcessError when the engine is gone or silent)."""
        try:
            self.engine.ping()
        except (chess.engine.EngineError, *_TIMEOUTS) as err:
            raise ProcessError(f"{self.name}: {_describe(err)}") from None

    def close(self) -> None:
        """``quit``, or end the process if it does not quit within the timeout."""
        try:
            self.engine.quit()
        except Exception:  # noqa: BLE001 - already dead, or not answering: end it regardless
            self.engine.close()


def _describe(err: BaseException) -> str:
    if isinstance(err, _TIMEOUTS):
        return "no answer in time"
    if isinstance(err, chess.engine.EngineTerminatedError):
        return f"the engine exited ({err})"
    return str(err) or type(err).__name__


__all__ = ["UciEngineClient", "UciError"]
