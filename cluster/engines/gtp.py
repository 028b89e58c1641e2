"""The engine as a GTP v2 Go player (``zeroplay gtp``); :mod:`cluster.external.gtp` drives other GTP engines.

Commands: protocol_version, name, version, known_command, list_commands, boardsize,
clear_board, komi, play, genmove, undo, showboard, final_score, time_settings,
time_left, quit. Replies are ``=[id] result`` or ``?[id] message`` followed by a
blank line; ids are echoed; comments (``#``) and blank lines are ignored; colours
are ``b``/``black``/``w``/``white`` in any case; vertices ``A1``..``T19`` without
``I`` (any case) or ``pass``. Only protocol goes to stdout; logs go to stderr.

Behaviour worth knowing:

* Errors: ``? illegal move`` for an illegal move or a vertex that is not on the
  board; ``? syntax error`` for missing or malformed arguments (a bad colour, a
  non-number); ``? unknown command``; ``? unacceptable size`` outside 5..19, or
  for any size but the network's when a checkpoint is loaded (with ``--game``
  and no checkpoint, a fresh network is made for each new size); ``? cannot undo``.
* ``play``/``genmove`` for the colour that is not to move (GTP allows ``play b``
  twice): a pass is inserted for the other colour first; ``undo`` takes back both.
* A move after the game ended under our rules (two passes, or the move cap):
  the game continues from the current board (a fresh setup position) rather than
  refusing a move the controller thinks legal.
* Ko: the rules come from the checkpoint's game, overridable with ``--ko simple``
  (use that against GNU Go, which plays simple ko: under positional superko we
  could reject a move it thinks legal).
* ``genmove`` answers ``resign`` when the searched value for the engine is below
  ``--resign-threshold`` (default -0.95; -1 disables) once ``--resign-after``
  moves (default: the number of board points / 2) have been played; the
  position is then unchanged.
* Time: after ``time_settings`` (and ``time_left``), each ``genmove`` is given
  :func:`cluster.engines.timing.clock_budget` of the remaining time, spread over the
  stones left in a byo-yomi period, else over ``max(10, (0.75 * points - moves) / 2)``
  moves, and at most 80% of it; capped by ``--seconds``; ``--sims`` still caps the
  simulations. The time runs from the moment ``genmove`` is read, and the search ends
  the move overhead (``--move-overhead``) before it. ``time_settings 0 x 0`` means no
  limit. Times must be finite and at most a week, stones 0..1,000,000 (else ``?
  syntax error``).
* Input that is not UTF-8 text, or a line over 1 MiB: ``? `` and the reason.
* ``final_score``: a finished game (two passes, or the move cap) is scored by
  Tromp-Taylor area as it stands (``B+3.5``, ``W+0.5``, ``0``). Before that, a network
  with an ownership head scores the board as it predicts it will end (each point to its
  likelier owner, so dead stones count for the side that captures them), one with only a
  score head by that head's lead (rounded to the half point); without either, Tromp-Taylor
  area as it stands (dead stones are not removed).
* ``final_status_list dead|alive|seki``: the stones the network's ownership predicts
  captured (``dead``) or not (``alive``); without an ownership head every stone is alive.
  ``seki`` is always empty.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import IO, Any, TextIO

from cluster.engines.engine import Engine, EngineError
from cluster.engines.lines import InputLineError, read_lines
from cluster.engines.timing import MAX_BUDGET, clock_budget
from games import GameError
from games.errors import ZeroplayError
from games.go import Go, GoState

PROTOCOL_COMMANDS = (
    "protocol_version", "name", "version", "known_command", "list_commands", "boardsize",
    "clear_board", "komi", "play", "genmove", "undo", "showboard", "final_score",
    "final_status_list", "time_settings", "time_left", "quit",
)


#: The most stones a byo-yomi period may count.
MAX_STONES = 1_000_000


class GtpCommandError(ZeroplayError):
    """A command that fails: the message is the text after ``?``."""


def _time(text: str, usage: str) -> float:
    """A GTP time in seconds: a finite number 0..a week, else a syntax error naming ``usage``."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= MAX_BUDGET:
        raise GtpCommandError(f"syntax error ({usage}; times are seconds 0..{MAX_BUDGET:g}, got {text[:40]!r})")
    return value


def _stones(text: str, usage: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_STONES:
        raise GtpCommandError(f"syntax error ({usage}; stones are an integer 0..{MAX_STONES}, got {text[:40]!r})")
    return value


@dataclasses.dataclass(frozen=True)
class TimeSettings:
    """GTP ``time_settings``: main time, byo-yomi period and stones per period (seconds)."""

    main_time: float
    byo_yomi_time: float
    byo_yomi_stones: int

    @property
    def unlimited(self) -> bool:
        return self.byo_yomi_time > 0 and self.byo_yomi_stones == 0


def _parse_colour(text: str) -> int:
    t = text.lower()
    if t in ("b", "black"):
        return 0
    if t in ("w", "white"):
        return 1
    raise GtpCommandError(f"syntax error (invalid color {text[:40]!r})")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("zeroplay")
    except Exception:  # noqa: BLE001 - not installed: any version string will do
        return "0"


class GtpEngine:
    """A GTP session over one engine.

    Args:
        engine: the searcher (its network fixes the board size unless ``new_engine`` is given).
        game: the Go rules (size, komi, ko); default ``engine.game``.
        new_engine: makes an engine for another Go game (``boardsize`` with a fresh
            network); None: only the network's size is acceptable.
        resign_threshold: resign when the searched value is below this (-1 disables).
        resign_after: moves played before resigning is considered (default points / 2).
        log: where to write one line per generated move (None: nowhere).
    """

    def __init__(
        self,
        engine: Engine,
        game: Go | None = None,
        *,
        new_engine: Callable[[Go], Engine] | None = None,
        resign_threshold: float = -0.95,
        resign_after: int | None = None,
        log: TextIO | None = None,
    ) -> None:
        game = game or engine.game  # type: ignore[assignment]
        if not isinstance(game, Go):
            raise EngineError(f"GTP plays Go, not {game!r}")
        self.engine = engine
        self.new_engine = new_engine
        self.resign_threshold = resign_threshold
        self.resign_after = resign_after
        self.log = log
        self.quit = False
        self.time_settings: TimeSettings | None = None
        self.time_left: dict[int, tuple[float, int]] = {}
        self._received = engine.timing.clock()
        self._set_game(game)

    # ------------------------------------------------------------------ position

    def _set_game(self, game: Go) -> None:
        self.game = game
        self.entries: list[int | None] = []  # actions; None restarts from the board (see module doc)
        self.states: list[GoState] = [game.initial_state()]
        self.undo_marks: list[int] = []

    @property
    def state(self) -> GoState:
        return self.states[-1]

    def _append(self, entry: int | None) -> None:
        state = self.state
        if entry is None:
            new = self.game.setup_state(state.stones(0), state.stones(1), to_play=state.to_play)
        else:
            new = state.apply(entry)
        self.entries.append(entry)
        self.states.append(new)

    def _rollback(self, mark: int) -> None:
        del self.entries[mark:]
        del self.states[mark + 1 :]

    def _prepare(self, colour: int) -> None:
        """Make ``colour`` the player to move in a playable position (setup restart / inserted pass)."""
        if self.state.is_terminal():
            self._append(None)
        if self.state.to_play != colour:
            self._append(self.game.pass_action)
            if self.state.is_terminal():
                self._append(None)

    def _replay(self, game: Go) -> None:
        """Switch to ``game`` (same size, other komi) keeping the moves played."""
        entries, marks = self.entries, self.undo_marks
        self._set_game(game)
        for entry in entries:
            self._append(entry)
        self.undo_marks = marks

    # ------------------------------------------------------------------ protocol

    def handle(self, line: str) -> str | None:
        """The full reply (ending with a blank line) to one input line; None if it is ignored."""
        self._received = self.engine.timing.clock()
        cleaned = "".join(c for c in line if c in "\t\n" or (ord(c) >= 32 and ord(c) != 127))
        cleaned = cleaned.replace("\t", " ").split("#", 1)[0].strip()
        if not cleaned:
            return None
        parts = cleaned.split()
        ident = ""
        if parts[0].isascii() and parts[0].isdigit():
            ident = parts.pop(0)
        if not parts:
            return f"?{ident} syntax error (no command)\n\n"
        name, args = parts[0].lower(), parts[1:]
        handler = getattr(self, f"cmd_{name}", None) if name in PROTOCOL_COMMANDS else None
        if handler is None:
            return f"?{ident} unknown command\n\n"
        try:
            result = handler(args)
        except GtpCommandError as err:
            return f"?{ident} {err}\n\n"
        except (GameError, EngineError) as err:  # e.g. a fresh network that cannot be built
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            return f"?{ident} {first}\n\n"
        return f"={ident} {result}\n\n" if result else f"={ident}\n\n"

    def run(self, stdin: IO[Any], stdout: TextIO) -> int:
        """Answer commands from ``stdin`` (binary, or text) on ``stdout`` until ``quit`` or end of input."""
        for line in read_lines(stdin):
            reply = f"? {line}\n\n" if isinstance(line, InputLineError) else self.handle(line)
            if reply is not None:
                stdout.write(reply)
                stdout.flush()
            if self.quit:
                break
        return 0

    # ------------------------------------------------------------------ commands

    @staticmethod
    def _nargs(args: Sequence[str], n: int) -> None:
        if len(args) != n:
            raise GtpCommandError(f"syntax error (expected {n} argument{'s' if n != 1 else ''})")

    def cmd_protocol_version(self, args: Sequence[str]) -> str:
        return "2"

    def cmd_name(self, args: Sequence[str]) -> str:
        return "zeroplay"

    def cmd_version(self, args: Sequence[str]) -> str:
        return f"{_version()} (weights v{self.engine.weights_version})"

    def cmd_known_command(self, args: Sequence[str]) -> str:
        self._nargs(args, 1)
        return "true" if args[0].lower() in PROTOCOL_COMMANDS else "false"

    def cmd_list_commands(self, args: Sequence[str]) -> str:
        return "\n".join(PROTOCOL_COMMANDS)

    def cmd_quit(self, args: Sequence[str]) -> str:
        self.quit = True
        return ""

    def cmd_boardsize(self, args: Sequence[str]) -> str:
        self._nargs(args, 1)
        try:
            size = int(args[0])
        except ValueError:
            raise GtpCommandError(f"syntax error (board size {args[0][:40]!r} is not an integer)") from None
        if not 5 <= size <= 19:
            raise GtpCommandError("unacceptable size")
        if size != self.game.size:
            game = Go(**{**self.game.options(), "size": size, "max_moves": 2 * size * size})
            if self.new_engine is None:
                raise GtpCommandError("unacceptable size")  # the network is for one size only
            self.engine = self.new_engine(game)
            self._set_game(game)
        else:
            self._set_game(self.game)
        return ""

    def cmd_clear_board(self, args: Sequence[str]) -> str:
        self._set_game(self.game)
        self.time_left = {}
        return ""

    def cmd_komi(self, args: Sequence[str]) -> str:
        self._nargs(args, 1)
        try:
            komi = float(args[0])
        except ValueError:
            raise GtpCommandError(f"syntax error (komi {args[0][:40]!r} is not a number)") from None
        try:
            game = Go(**{**self.game.options(), "komi": komi})
        except GameError as err:
            raise GtpCommandError(f"syntax error (komi {args[0][:40]!r}: {err})") from None
        if game != self.game:
            self._replay(game)
        return ""

    def _parse_move(self, args: Sequence[str]) -> tuple[int, int]:
        self._nargs(args, 2)
        colour = _parse_colour(args[0])
        try:
            action = self.game.parse_action(args[1])
        except GameError:
            raise GtpCommandError("illegal move") from None
        return colour, action

    def cmd_play(self, args: Sequence[str]) -> str:
        colour, action = self._parse_move(args)
        mark = len(self.entries)
        try:
            self._prepare(colour)
            self._append(action)
        except GameError:
            self._rollback(mark)
            raise GtpCommandError("illegal move") from None
        self.undo_marks.append(mark)
        return ""

    def cmd_genmove(self, args: Sequence[str]) -> str:
        self._nargs(args, 1)
        colour = _parse_colour(args[0])
        mark = len(self.entries)
        self._prepare(colour)
        state = self.state
        sims, seconds = self._limits(colour)
        limits: dict[str, Any] = {} if sims is None and seconds is None else {"sims": sims, "seconds": seconds}
        analysis = self.engine.analyse(state, received=self._received, **limits)
        moves_played = sum(1 for e in self.entries if e is not None)
        resign_after = self.resign_after if self.resign_after is not None else self.game.size ** 2 // 2
        text = state.action_to_text(analysis.action)
        if self.resign_threshold > -1 and moves_played >= resign_after and analysis.value < self.resign_threshold:
            self._rollback(mark)
            text = "resign"
        else:
            self._append(analysis.action)
            self.undo_marks.append(mark)
        if self.log is not None:
            print(
                f"genmove {'BW'[colour]}: {text} (value {analysis.value:+.3f}, {analysis.simulations} sims, "
                f"{analysis.seconds:.2f}s)", file=self.log, flush=True,
            )
        return text if text in ("pass", "resign") else text.upper()

    def cmd_undo(self, args: Sequence[str]) -> str:
        if not self.undo_marks:
            raise GtpCommandError("cannot undo")
        self._rollback(self.undo_marks.pop())
        return ""

    def cmd_showboard(self, args: Sequence[str]) -> str:
        return "\n" + str(self.state)

    def cmd_final_score(self, args: Sequence[str]) -> str:
        state = self.state
        estimate = None if state.is_terminal() else self.engine.area_estimate(state)
        if estimate is None:
            return state.result()
        score = estimate.owner_score(self.game.komi)
        if score is None:
            score = round(float(estimate.score_lead) * 2) / 2
        return "0" if score == 0 else f"{'B' if score > 0 else 'W'}+{abs(score):g}"

    def cmd_final_status_list(self, args: Sequence[str]) -> str:
        self._nargs(args, 1)
        wanted = args[0].lower()
        if wanted not in ("dead", "alive", "seki"):
            raise GtpCommandError("syntax error: final_status_list dead|alive|seki")
        if wanted == "seki":
            return ""
        state = self.state
        estimate = self.engine.area_estimate(state)
        predicted = estimate.ownership if estimate is not None else None
        points = []
        for player, sign in ((0, 1.0), (1, -1.0)):
            for action in state.stones(player):
                dead = predicted is not None and sign * float(predicted[action]) < 0
                if dead == (wanted == "dead"):
                    points.append(state.action_to_text(action))
        return " ".join(points)

    def cmd_time_settings(self, args: Sequence[str]) -> str:
        self._nargs(args, 3)
        usage = "time_settings main_time byo_yomi_time byo_yomi_stones"
        main, byo, stones = _time(args[0], usage), _time(args[1], usage), _stones(args[2], usage)
        self.time_settings = TimeSettings(main, byo, stones)
        self.time_left = {}
        return ""

    def cmd_time_left(self, args: Sequence[str]) -> str:
        self._nargs(args, 3)
        colour = _parse_colour(args[0])
        usage = "time_left color time stones"
        self.time_left[colour] = (_time(args[1], usage), _stones(args[2], usage))
        return ""

    # ------------------------------------------------------------------ time

    def _limits(self, colour: int) -> tuple[int | None, float | None]:
        """(sims, seconds) for the next move: the engine's own unless a clock is running."""
        config = self.engine.config
        ts = self.time_settings
        if ts is None or ts.unlimited or (ts.main_time == 0 and ts.byo_yomi_time == 0 and colour not in self.time_left):
            return None, None
        remaining, stones = self.time_left.get(colour, (ts.main_time, 0))
        if remaining <= 0 and stones == 0 and ts.byo_yomi_stones > 0:
            remaining, stones = ts.byo_yomi_time, ts.byo_yomi_stones
        if stones > 0:
            seconds = clock_budget(remaining, 0.0, stones)
        else:
            moves = sum(1 for e in self.entries if e is not None)
            seconds = clock_budget(remaining, 0.0, max(10.0, (0.75 * self.game.size ** 2 - moves) / 2))
        if config.seconds is not None:
            seconds = min(seconds, config.seconds)
        return config.sims, seconds






