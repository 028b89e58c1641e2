"""``zeroplay play``: play against the engine in a terminal.

The board is drawn (``str(state)``, with coordinates) after every move. The human
types moves in the game's notation (Go ``D4``/``pass``, chess ``e2e4`` or ``Nf3``,
Connect Four ``4``, tic-tac-toe ``b2``) or a command:

``undo``       take back your last move and the engine's reply
``hint``       the engine's top moves with visits and win probability (for you)
``eval``       the position's searched value as your win probability
``save FILE``  the game so far: SGF for Go, PGN for chess, one move per line otherwise
``resign``     give up the game
``help``       this list
``quit``       leave

Bad input re-prompts with a message and never changes the game (input that is not
UTF-8 text, or a line over 1 MiB, too). The engine plays deterministically (no
noise); with ``--seconds`` each of its moves (and each ``hint``/``eval``) is answered
within that time, counted from when the input line was read. :class:`PlaySession` is the logic (``start`` and
``handle(line) -> str``); :meth:`PlaySession.run` is the terminal loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, TextIO

from cluster.engines.engine import Engine, win_probability
from cluster.engines.lines import InputLineError, read_lines
from games import Game, GameError, NotationError, State
from games.records import GameRecord, write_record

HELP = """\
Type a move in the game's notation ({example}) or a command:
  undo        take back your last move and the engine's reply
  hint        the engine's top moves (visits, win probability for you)
  eval        the position's value as your win probability
  save FILE   save the game ({save_format})
  resign      give up
  help        this text
  quit        leave"""


class PlaySession:
    """One game between a human and the engine.

    Args:
        engine: the searcher.
        game: the game played (default ``engine.game``).
        human: the human's player index (0 moves first).
        sims, seconds: the engine's limits per move (default: the engine's own).
    """

    def __init__(
        self,
        engine: Engine,
        game: Game | None = None,
        *,
        human: int = 0,
        sims: int | None = None,
        seconds: float | None = None,
    ) -> None:
        if human not in (0, 1):
            raise ValueError(f"human must be player 0 or 1, not {human!r}")
        self.engine = engine
        self.game = game or engine.game
        self.human = human
        self.sims = sims
        self.seconds = seconds
        self.names = self.game.player_names
        self.states: list[State] = [self.game.initial_state()]
        self.actions: list[int] = []
        self.resigned: int | None = None  # the player who resigned
        self.finished = False  # quit
        self._announced = False
        self._received: float | None = None

    # ------------------------------------------------------------------ state

    @property
    def state(self) -> State:
        return self.states[-1]

    @property
    def game_over(self) -> bool:
        return self.resigned is not None or self.state.is_terminal()

    @property
    def prompt(self) -> str:
        if self.game_over:
            return "game over (undo, save FILE, quit)> "
        return f"{self.names[self.human]} to play> "

    def _limits(self) -> dict[str, Any]:
        """The search limits, and when the current input was read (a time limit counts from then)."""
        limits: dict[str, Any] = {"received": self._received}
        if self.sims is not None or self.seconds is not None:
            limits.update(sims=self.sims, seconds=self.seconds)
        return limits

    # ------------------------------------------------------------------ flow

    def start(self) -> str:
        """The opening text: who plays what, the board, and the engine's first move if it starts."""
        lines = [
            f"zeroplay: {self.game!r} against {self.engine.name}",
            f"You play {self.names[self.human]}; the engine plays {self.names[1 - self.human]}. "
            "Type 'help' for commands.",
            str(self.state),
        ]
        if self.state.to_play != self.human and not self.game_over:
            lines.append(self._engine_move())
        return "\n".join(lines)

    def handle(self, line: str) -> str:
        """Process one line of input and return what to show (may be empty)."""
        self._received = self.engine.timing.clock()
        text = line.strip()
        if not text:
            return ""
        word, _, rest = text.partition(" ")
        command = word.lower()
        rest = rest.strip()
        if command in ("quit", "exit"):
            self.finished = True
            return "bye"
        if command in ("help", "?"):
            return self.help()
        if command == "undo":
            return self._undo()
        if command == "save":
            return self._save(rest)
        if command == "hint":
            return self._hint()
        if command == "eval":
            return self._eval()
        if command == "resign":
            if self.game_over:
                return "the game is already over (undo, save FILE, quit)"
            self.resigned = self.human
            return self._result()
        if self.game_over:
            return f"the game is over; {text!r} is not a command here (undo, save FILE, quit)"
        return self._human_move(text)

    def help(self) -> str:
        save_format = {"sgf": "SGF", "pgn": "PGN"}.get(self.game.record_format, "a move list")
        return HELP.format(example=self.game.notation_hint, save_format=save_format)

    def _human_move(self, text: str) -> str:
        state = self.state
        try:
            action = state.parse_action(text)
        except NotationError as err:
            return f"{text!r} is not a move: {str(err).splitlines()[0]} (type 'help')"
        if not (0 <= action < self.game.num_actions) or not state.legal_mask()[action]:
            return f"{text!r} is not a legal move in this position (type 'hint' for ideas)"
        self._push(action)
        lines = [f"you play {self._text(self.states[-2], action)}", str(self.state)]
        if not self.game_over:
            lines.append(self._engine_move())
        else:
            lines.append(self._result())
        return "\n".join(lines)

    def _engine_move(self) -> str:
        state = self.state
        analysis = self.engine.analyse(state, **self._limits())
        move = self._text(state, analysis.action)
        self._push(analysis.action)
        proof = analysis.proof_text("the engine")
        estimate = proof or f"win probability for the engine {win_probability(analysis.value):.0%}"
        lines = [f"engine plays {move} ({estimate})", str(self.state)]
        if self.game_over:
            lines.append(self._result())
        return "\n".join(lines)

    def _push(self, action: int) -> None:
        self.states.append(self.state.apply(action))
        self.actions.append(action)

    def _text(self, state: State, action: int) -> str:
        return state.move_text(action)

    def _undo(self) -> str:
        if self.resigned is not None:
            self.resigned = None
            return f"resignation withdrawn\n{self.state}"
        # Positions where the human was to move, before one of their moves.
        human_turns = [i for i in range(len(self.actions)) if self.states[i].to_play == self.human]
        if not human_turns:
            return "nothing to undo: you have not moved yet"
        keep = human_turns[-1]
        taken = [self._text(self.states[i], self.actions[i]) for i in range(keep, len(self.actions))]
        del self.states[keep + 1 :]
        del self.actions[keep:]
        return f"took back {' '.join(taken)}\n{self.state}"

    def _hint(self) -> str:
        if self.game_over:
            return "the game is over"
        state = self.state
        analysis = self.engine.analyse(state, **self._limits())
        lines = [f"hint ({analysis.simulations} simulations):"]
        for action, visits, q, prior in analysis.top_moves(5):
            win = "?" if q != q else f"{win_probability(q):.0%}"
            lines.append(f"  {self._text(state, action):<8} visits {visits:<6} win {win:<5} prior {prior:.1%}")
        return "\n".join(lines)

    def _eval(self) -> str:
        if self.game_over:
            return self._result()
        state = self.state
        analysis = self.engine.analyse(state, **self._limits())
        value = analysis.value if state.to_play == self.human else -analysis.value
        if analysis.proven is not None:
            mover = "you" if state.to_play == self.human else "the engine"
            return f"eval: {analysis.proof_text(mover)} ({analysis.simulations} simulations)"
        lead = ""
        estimate = self.engine.area_estimate(state)
        if estimate is not None:
            black_lead = estimate.owner_score(self.game.komi) if estimate.ownership is not None else None
            if black_lead is None:
                black_lead = estimate.score_lead
            mine = black_lead if self.human == 0 else -black_lead
            lead = f"; predicted score {'+' if mine >= 0 else ''}{mine:g} for you"
        return (
            f"eval: your win probability {win_probability(value):.1%} "
            f"(searched value {value:+.3f} for you, {analysis.simulations} simulations{lead})"
        )

    def _result(self) -> str:
        if self.resigned is not None:
            winner: int | None = 1 - self.resigned
            detail = f"{self.names[self.resigned]} resigns"
        else:
            state = self.state
            returns = state.returns()
            winner = 0 if returns[0] > 0 else 1 if returns[0] < 0 else None
            detail = state.end_description()
        if winner is None:
            verdict = "draw"
        else:
            verdict = f"{self.names[winner]} wins ({'you win' if winner == self.human else 'the engine wins'})"
        return f"game over: {verdict}: {detail}"

    # ------------------------------------------------------------------ records

    def game_record(self) -> GameRecord:
        """The game so far as a :class:`games.records.GameRecord`."""
        players = ("human", self.engine.name) if self.human == 0 else (self.engine.name, "human")
        if self.resigned is not None:
            ending, winner = "resignation", 1 - self.resigned
        elif self.state.is_terminal():
            ending, winner = "terminal", None
        else:
            ending, winner = "unfinished", None
        return GameRecord(
            game=self.game,
            actions=tuple(self.actions),
            players=players,
            winner=winner,
            ending=ending,
            event="zeroplay play",
        )

    def record(self) -> str:
        """The game so far as text in its game's record format: SGF (Go), PGN (chess), a move list."""
        return write_record(self.game_record())

    def _save(self, filename: str) -> str:
        if not filename:
            return "usage: save FILE"
        try:
            text = self.record()
            Path(filename).expanduser().write_text(text, encoding="utf-8")
        except (OSError, GameError) as err:
            return f"could not save to {filename!r}: {err}"
        return f"saved {len(self.actions)} move(s) to {filename}"

    # ------------------------------------------------------------------ loop

    def run(self, stdin: IO[Any], stdout: TextIO) -> int:
        """The terminal loop: prompt, read a line (binary, or text), answer; ends on ``quit`` or end of input."""
        stdout.write(self.start() + "\n")
        lines = read_lines(stdin)
        while not self.finished:
            stdout.write(self.prompt)
            stdout.flush()
            line = next(lines, None)
            if line is None:
                stdout.write("\n")
                break
            reply = str(line) if isinstance(line, InputLineError) else self.handle(line)
            if reply:
                stdout.write(reply + "\n")
            stdout.flush()
        stdout.flush()
        return 0
