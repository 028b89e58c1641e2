"""How the engines keep time: a budget for each move, and a hard deadline the search keeps.

A controller (a UCI GUI, a GTP match, a client of ``zeroplay analyze``) counts a move
from the moment it sends the command to the moment it reads the answer. The front ends
turn the controller's limits into a *budget* (seconds for the whole move):

* a fixed time per move (UCI ``go movetime``, ``--seconds``, an analysis request's
  ``"seconds"``): the budget is that time;
* a clock (UCI ``wtime/btime/winc/binc/movestogo``, GTP ``time_settings`` and
  ``time_left``): :func:`clock_budget`, about ``remaining / moves_to_go + 0.75 *
  increment``, never more than 80% of what the clock holds.

:class:`TimeManager` then keeps the budget. The search must end by ``received + budget -
move_overhead``: ``move_overhead`` (:class:`TimeConfig`, default 20 ms) is kept back for
what happens outside the search (writing the answer, the controller reading it, a busy
machine scheduling us late). Time spent before the search (parsing the position) counts,
since the budget runs from when the command was received. The search is handed
``should_stop`` (:meth:`TimeManager.stopper`), asked after every simulation step: it
says stop when the next step, at the step time measured on this machine, would end past
the deadline. A budget too short for even the search's first step (the root's evaluation
and one simulation, also measured) is answered from the network alone (one forward pass).

Gumbel search plans its Sequential Halving over a fixed number of simulations, so a
timed Gumbel search is given :meth:`TimeManager.simulations_within` the time left, from
the step times measured at warm-up and on every search since, and the deadline is
its hard stop. PUCT search is anytime: it runs to the deadline.

Times are in seconds on the manager's clock (``time.perf_counter`` unless a test gives
another).
"""

from __future__ import annotations

import collections
import dataclasses
import math
import statistics
import threading
import time
from collections.abc import Callable

from games.errors import ZeroplayError

#: The longest budget any move is given (a week): larger limits are searched as this.
MAX_BUDGET = 7 * 24 * 3600.0
#: The most a move overhead may be (seconds).
MAX_MOVE_OVERHEAD = 10.0
#: Moves a clock is spread over when the controller does not say (UCI without ``movestogo``).
DEFAULT_MOVES_TO_GO = 30
#: The share of the increment a move spends on top of its share of the clock.
INCREMENT_SHARE = 0.75
#: The most of the clock (after the move overhead) one move may use.
MAX_CLOCK_SHARE = 0.8
# Recent samples kept per measurement. The estimate is their median, or the latest sample
# if that is larger: a machine that just became slower is believed at once (a late answer
# costs more than a short search), one slow moment is forgotten at the next sample.
_STEPS_KEPT = 32
_FIRST_STEPS_KEPT = 9


class TimingError(ZeroplayError, ValueError):
    """A time limit or timing setting out of range (the message names it)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class TimeConfig:
    """How an engine keeps time.

    Attributes:
        move_overhead: seconds kept back from every timed move for the answer's own
            latency outside the search, 0..10 (default 0.02).
    """

    move_overhead: float = 0.02

    def __post_init__(self) -> None:
        value = self.move_overhead
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_MOVE_OVERHEAD:
            raise TimingError(f"move_overhead must be a number of seconds in 0..{MAX_MOVE_OVERHEAD:g}, got {value!r}")


def _seconds(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise TimingError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    return min(float(value), MAX_BUDGET)


def clock_budget(remaining: float, increment: float = 0.0, moves_to_go: float | None = None) -> float:
    """The budget (seconds) of one move on a clock.

    ``min(remaining / moves_to_go + 0.75 * increment, 0.8 * remaining)``, where
    ``remaining`` is the time on the clock before this move and ``increment`` what the
    move adds after it (UCI's ``wtime``/``winc``; a GTP byo-yomi period is ``remaining``
    for ``moves_to_go`` stones), ``moves_to_go`` the moves until the clock is refilled
    (default 30; at least 1). Times are capped at a week.

    Raises:
        TimingError: a time that is negative or not finite, ``moves_to_go`` not a number >= 0.
    """
    remaining = _seconds("remaining time", remaining)
    increment = _seconds("increment", increment)
    if moves_to_go is None:
        moves_to_go = DEFAULT_MOVES_TO_GO
    moves = _seconds("moves to go", moves_to_go)
    return min(remaining / max(moves, 1.0) + INCREMENT_SHARE * increment, MAX_CLOCK_SHARE * remaining)


class Stopper:
    """``should_stop`` for one search: stop when asked to, or before a step would end past the deadline.

    The search asks once before its first simulation (the root evaluated) and after every
    simulation step. The call after the first simulation measures the search's first step
    (start-up, the root's evaluation and one simulation) for a search from a position, and
    every later call the step that just ended, into its :class:`TimeManager`.

    Attributes:
        stopped: whether it has said stop (the search ended early).
    """

    def __init__(self, manager: TimeManager, deadline: float | None, stop: threading.Event | None) -> None:
        self.manager = manager
        self.deadline = deadline
        self.stop = stop
        self.stopped = False
        self._calls = 0
        self._last = manager.clock()
        self._started = self._last
        self._fresh = True

    def restart(self, *, fresh_root: bool = True) -> None:
        """A new search begins; ``fresh_root``: from a position, so its first step evaluates the root too."""
        self._calls = 0
        self._started = self._last = self.manager.clock()
        self._fresh = fresh_root

    def __call__(self) -> bool:
        manager = self.manager
        now = manager.clock()
        if self._calls == 1 and self._fresh:
            manager.record_first_step(now - self._started)
        elif self._calls >= 1:
            manager.record_step(now - self._last)
        self._calls += 1
        self._last = now
        if self.stop is not None and self.stop.is_set():
            self.stopped = True
        elif self.deadline is not None and now + (manager.step or 0.0) > self.deadline:
            self.stopped = True
        return self.stopped


def _estimate(samples: collections.deque[float]) -> float:
    return max(statistics.median(samples), samples[-1])


class TimeManager:
    """An engine's time keeping: what its searches measured on this machine, and the deadlines they give.

    Args:
        config: the move overhead.
        clock: the time source (seconds; ``time.perf_counter``).

    Attributes:
        step: seconds of one simulation step: the median of the recent ones, or the latest if
            larger (None: not measured yet).
        first_step: seconds from a search's start to the end of its first step (the root's
            evaluation and one simulation), estimated the same way.
    """

    def __init__(self, config: TimeConfig | None = None, *, clock: Callable[[], float] = time.perf_counter) -> None:
        self.config = config or TimeConfig()
        self.clock = clock
        self._steps: collections.deque[float] = collections.deque(maxlen=_STEPS_KEPT)
        self._first_steps: collections.deque[float] = collections.deque(maxlen=_FIRST_STEPS_KEPT)
        self._step: float | None = None

    @property
    def step(self) -> float | None:
        if self._step is None and self._steps:
            self._step = _estimate(self._steps)
        return self._step

    @property
    def first_step(self) -> float | None:
        return _estimate(self._first_steps) if self._first_steps else None

    def record_step(self, seconds: float) -> None:
        """A simulation step took ``seconds``."""
        self._steps.append(max(0.0, seconds))
        self._step = None

    def record_first_step(self, seconds: float) -> None:
        """A search's first step (the root's evaluation and one simulation) took ``seconds``."""
        self._first_steps.append(max(0.0, seconds))

    def forget(self) -> None:
        """Drop every measurement (after a cold start that does not stand for the machine)."""
        self._steps.clear()
        self._first_steps.clear()
        self._step = None

    @property
    def measured(self) -> bool:
        """Whether searches have been timed (both step times are known)."""
        return self.step is not None and self.first_step is not None

    def deadline(self, budget: float, received: float | None = None) -> float:
        """When the search must have ended for a move of ``budget`` seconds received at ``received`` (default now).

        Raises:
            TimingError: a budget that is negative or not finite.
        """
        budget = _seconds("time budget", budget)
        start = self.clock() if received is None else received
        return start + budget - self.config.move_overhead

    def can_search(self, deadline: float) -> bool:
        """Whether a search's first step (measured; unknown counts as none) ends by ``deadline``."""
        return self.clock() + (self.first_step or 0.0) <= deadline

    def simulations_within(self, deadline: float, *, fresh_root: bool = True) -> int:
        """Simulations that fit before ``deadline`` at the measured step times (at least 1; 1 while unmeasured).

        ``fresh_root``: the search starts from a position (its first step evaluates the root too).
        """
        if self.step is None or self.first_step is None:
            return 1
        first = self.first_step if fresh_root else self.step
        left = deadline - self.clock() - first
        return 1 + max(0, int(min(left / max(self.step, 1e-9) + 1e-6, 1e12)))

    def stopper(self, deadline: float | None = None, stop: threading.Event | None = None) -> Stopper:
        """``should_stop`` for a search that ends by ``deadline`` (None: no deadline) or once ``stop`` is set."""
        return Stopper(self, deadline, stop)


__all__ = [
    "DEFAULT_MOVES_TO_GO",
    "INCREMENT_SHARE",
    "MAX_BUDGET",
    "MAX_CLOCK_SHARE",
    "MAX_MOVE_OVERHEAD",
    "Stopper",
    "TimeConfig",
    "TimeManager",
    "TimingError",
    "clock_budget",
]
