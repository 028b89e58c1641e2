"""``zeroplay bench engine``: how well the engines keep time, on a quiet machine and beside a CPU hog.

The real ``zeroplay uci`` and ``zeroplay gtp`` run as subprocesses (fresh networks of the
preset sizes unless checkpoints are given), driven as a GUI drives them, with the time
of every answer taken from sending the command to reading the reply:

* UCI: ``moves`` times ``go movetime T`` along a game the engine plays against itself;
  the *overshoot* is the answer time minus T (negative: early);
* GTP (9x9 Go): ``time_settings 0 T 1`` (T seconds of byo-yomi per stone) and, before
  every ``genmove``, ``time_left COLOUR T 1``; the overshoot is the answer time minus T;
* a UCI clock game: ``go wtime/btime/winc/binc`` from ``clock_ms`` each plus ``increment_ms``
  a move; a *loss on time* is an answer after the mover's clock ran out (the game then
  ends).

Each runs twice: quiet, then with a CPU hog (a busy-loop process pinned to one of the
CPUs the engine may use) beside the engines. Reported per run: the overshoot's p50, p90,
p99 and max in ms, and the count over ``T + 50 ms`` (the target: none in 99% of moves);
for the clock game, the losses on time and the least time left on a clock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import cluster
from cluster.bench.common import machine_info
from cluster.external.gtp import GtpClient
from cluster.external.transport import LineProcess
from games.errors import ZeroplayError

ENGINES = ("uci", "gtp")
#: An answer later than the move time by more than this misses the target (seconds).
TOLERANCE = 0.050


class EngineBenchError(ZeroplayError, ValueError):
    """Settings out of range (the message names the setting)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class EngineBenchSettings:
    """What ``zeroplay bench engine`` measures.

    Attributes:
        moves: answers timed per engine and run, 1..10,000 (default 20).
        movetime_ms: the time per move T in ms, 10..60,000 (default 100).
        clock_ms: each side's clock at the start of the clock game in ms, 0 (no clock game) or
            100..3,600,000 (default 2000).
        increment_ms: the clock game's increment per move in ms, 0..60,000 (default 50).
        engines: which of ``uci``, ``gtp`` to run.
        hog: also run beside a CPU hog (default True); ``quiet``: also run without one.
        chess, go: a checkpoint or run directory for each engine (None: a fresh network).
        threads: torch threads of the engines (``--threads``), 1..256.
    """

    moves: int = 20
    movetime_ms: int = 100
    clock_ms: int = 2000
    increment_ms: int = 50
    engines: tuple[str, ...] = ENGINES
    quiet: bool = True
    hog: bool = True
    chess: str | None = None
    go: str | None = None
    threads: int = 1

    def __post_init__(self) -> None:
        def bounded(name: str, low: int, high: int) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise EngineBenchError(f"{name} must be an integer {low}..{high}, got {value!r}")

        bounded("moves", 1, 10_000)
        bounded("movetime_ms", 10, 60_000)
        bounded("increment_ms", 0, 60_000)
        bounded("threads", 1, 256)
        if self.clock_ms != 0:
            bounded("clock_ms", 100, 3_600_000)
        unknown = [e for e in self.engines if e not in ENGINES]
        if unknown or not self.engines:
            raise EngineBenchError(f"engines must be some of {', '.join(ENGINES)}, got {', '.join(self.engines)!r}")
        if not (self.quiet or self.hog):
            raise EngineBenchError("nothing to run: neither quiet nor with a hog")


def zeroplay_command(*args: str) -> list[str]:
    """The ``zeroplay`` console script beside this Python (``python -m cluster.cli.main`` without one)."""
    script = Path(sys.executable).with_name("zeroplay")
    head = [str(script)] if script.is_file() else [sys.executable, "-m", "cluster.cli.main"]
    return [*head, *args]


def _env() -> dict[str, str]:
    """This environment with the code being measured first on the path."""
    root = str(Path(cluster.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env.pop("RAY_ADDRESS", None)
    return env


@contextlib.contextmanager
def cpu_hog() -> Iterator[dict[str, Any]]:
    """A busy-loop process pinned to the last CPU this process may use, for the duration of the block."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    info: dict[str, Any] = {"pid": hog.pid, "cpu": None}
    try:
        if hasattr(os, "sched_setaffinity"):
            cpu = max(os.sched_getaffinity(0))
            os.sched_setaffinity(hog.pid, {cpu})
            info["cpu"] = cpu
        yield info
    finally:
        hog.kill()
        hog.wait()


def overshoot_stats(overshoots: Sequence[float]) -> dict[str, Any]:
    """p50/p90/p99/max of answer time minus move time (ms), and the count over the 50 ms tolerance."""
    ms = np.asarray(overshoots, dtype=np.float64) * 1000.0
    return {
        "n": int(ms.size),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p90_ms": round(float(np.percentile(ms, 90)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "max_ms": round(float(ms.max()), 1),
        "over_50ms": int((ms > TOLERANCE * 1000.0).sum()),
    }


# ---------------------------------------------------------------------- UCI


class UciSession:
    """A raw UCI session with ``zeroplay uci`` (``argv`` after ``zeroplay``)."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.proc = LineProcess(zeroplay_command("uci", *argv), name="zeroplay uci", env=_env())
        self.proc.send("uci")
        self._until("uciok", 300)
        self.proc.send("isready")
        self._until("readyok", 300)

    def _until(self, prefix: str, timeout: float) -> str:
        line = self.proc.readline(timeout)
        while not line.startswith(prefix):
            line = self.proc.readline(timeout)
        return line

    def go(self, moves: Sequence[str], go: str, timeout: float) -> tuple[str, float]:
        """``(bestmove, seconds from sending go to reading bestmove)`` after ``moves`` from the start."""
        self.proc.send("position startpos" + (" moves " + " ".join(moves) if moves else ""))
        start = time.perf_counter()
        self.proc.send(go)
        line = self._until("bestmove", timeout)
        return line.split()[1], time.perf_counter() - start

    def close(self) -> None:
        with contextlib.suppress(ZeroplayError):
            self.proc.send("quit")
        self.proc.close(30)


def uci_movetime(session: UciSession, moves: int, movetime_ms: int) -> dict[str, Any]:
    """Overshoots of ``moves`` answers to ``go movetime`` along a self-played game (restarted when it ends)."""
    game: list[str] = []
    overshoots = []
    for _ in range(moves):
        best, seconds = session.go(game, f"go movetime {movetime_ms}", timeout=60 + movetime_ms / 1000)
        overshoots.append(seconds - movetime_ms / 1000)
        game = [*game, best] if best != "(none)" else []
    return overshoot_stats(overshoots)


def uci_clock_game(session: UciSession, moves: int, clock_ms: int, increment_ms: int) -> dict[str, Any]:
    """A self-played game of up to ``moves`` plies on a clock; losses on time end it."""
    clocks = [clock_ms / 1000, clock_ms / 1000]
    game: list[str] = []
    least = min(clocks)
    losses = 0
    played = 0
    for ply in range(moves):
        side = ply % 2
        white, black = (round(c * 1000) for c in clocks)
        go = f"go wtime {white} btime {black} winc {increment_ms} binc {increment_ms}"
        best, seconds = session.go(game, go, timeout=60 + clocks[side])
        played += 1
        clocks[side] -= seconds
        least = min(least, clocks[side])
        if clocks[side] < 0:
            losses = 1
            break
        clocks[side] += increment_ms / 1000
        if best == "(none)":
            break
        game.append(best)
    return {"moves": played, "losses_on_time": losses, "least_left_ms": round(least * 1000, 1)}


# ---------------------------------------------------------------------- GTP


def gtp_genmove(client: GtpClient, moves: int, movetime_ms: int) -> dict[str, Any]:
    """Overshoots of ``moves`` answers to ``genmove`` with ``movetime`` of byo-yomi per stone (self-play)."""
    seconds_per_move = movetime_ms / 1000
    client.command("boardsize 9", timeout=300)
    client.command("clear_board")
    client.command(f"time_settings 0 {seconds_per_move:g} 1")
    overshoots = []
    for ply in range(moves):
        colour = "bw"[ply % 2]
        client.command(f"time_left {colour} {seconds_per_move:g} 1")
        start = time.perf_counter()
        answer = client.command(f"genmove {colour}", timeout=60 + seconds_per_move)
        overshoots.append(time.perf_counter() - start - seconds_per_move)
        if answer.lower() == "resign":
            client.command("clear_board")
    return overshoot_stats(overshoots)


# ---------------------------------------------------------------------- the benchmark


def run_engine_bench(settings: EngineBenchSettings, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the benchmark; the JSON-ready report (see the module docstring)."""
    say = log or (lambda line: None)
    common = ["--threads", str(settings.threads)]
    sessions: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        if "uci" in settings.engines:
            say("starting zeroplay uci")
            source = [settings.chess] if settings.chess else ["--game", "chess"]
            sessions["uci"] = UciSession([*source, *common])
        if "gtp" in settings.engines:
            say("starting zeroplay gtp")
            source = [settings.go] if settings.go else ["--game", "go:size=9"]
            sessions["gtp"] = GtpClient(
                zeroplay_command("gtp", *source, "--sims", "1000000", "--resign-threshold", "-1", *common),
                name="zeroplay gtp", env=_env(),
            )
        runs: dict[str, Any] = {}
        for label in [name for name, on in (("quiet", settings.quiet), ("hog", settings.hog)) if on]:
            with cpu_hog() if label == "hog" else contextlib.nullcontext({}) as hog:
                say(f"{label}: measuring")
                run: dict[str, Any] = {"hog_cpu": hog.get("cpu") if label == "hog" else None,
                                       "load_average_1min": round(os.getloadavg()[0], 2)}
                if "uci" in sessions:
                    run["uci_movetime"] = uci_movetime(sessions["uci"], settings.moves, settings.movetime_ms)
                    if settings.clock_ms:
                        run["uci_clock_game"] = uci_clock_game(
                            sessions["uci"], settings.moves, settings.clock_ms, settings.increment_ms
                        )
                if "gtp" in sessions:
                    run["gtp_genmove"] = gtp_genmove(sessions["gtp"], settings.moves, settings.movetime_ms)
                runs[label] = run
    finally:
        for session in sessions.values():
            if isinstance(session, GtpClient):
                session.quit()
            else:
                session.close()
    return {
        "benchmark": "engine",
        "machine": machine_info(),
        "settings": dataclasses.asdict(settings),
        "tolerance_ms": TOLERANCE * 1000,
        "seconds": round(time.perf_counter() - started, 1),
        "runs": runs,
    }


def render(result: dict[str, Any]) -> str:
    """The report as a table."""
    s, m = result["settings"], result["machine"]
    lines = [
        f"zeroplay bench engine: {s['moves']} moves per run at {s['movetime_ms']} ms a move; clock game "
        f"{s['clock_ms']}+{s['increment_ms']} ms; {s['threads']} torch thread(s)",
        f"machine: {m['cpu']} ({m['cores']} cores); {result['seconds']} s",
        f"{'run':<6} {'measure':<15} {'n':>5} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8} {'>+50ms':>7}"
        "   (overshoot over the move time, ms)",
    ]
    for label, run in result["runs"].items():
        for key in ("uci_movetime", "gtp_genmove"):
            if key in run:
                r = run[key]
                lines.append(
                    f"{label:<6} {key:<15} {r['n']:>5} {r['p50_ms']:>8} {r['p90_ms']:>8} {r['p99_ms']:>8} "
                    f"{r['max_ms']:>8} {r['over_50ms']:>7}"
                )
        if "uci_clock_game" in run:
            c = run["uci_clock_game"]
            lines.append(
                f"{label:<6} {'uci_clock_game':<15} {c['moves']:>5} moves, {c['losses_on_time']} lost on time, "
                f"least left {c['least_left_ms']} ms"
            )
        lines.append(f"{label:<6} load average {run['load_average_1min']}"
                     + (f", hog on CPU {run['hog_cpu']}" if run.get("hog_cpu") is not None else ""))
    return "\n".join(lines)


__all__ = ["ENGINES", "EngineBenchError", "EngineBenchSettings", "cpu_hog", "overshoot_stats", "render",
           "run_engine_bench", "zeroplay_command"]
