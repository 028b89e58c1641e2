"""The ``zeroplay`` command line.

Each sub-command is a small function; heavy imports (torch, Ray) happen inside
the commands that need them, so ``zeroplay games bench`` starts fast.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import sys
from typing import Any, Callable, Iterator, Sequence, TextIO


class CliError(Exception):
    """A user error reported as one line on stderr with exit status 2."""


def parse_game_spec(text: str) -> dict[str, Any]:
    """A ``--game`` argument as a spec dict (see the module docstring); validated lightly.

    Raises:
        CliError: malformed text (the message quotes it).
    """
    import games

    text = text.strip()
    if text.startswith("{"):
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as err:
            raise CliError(f"--game {text!r} is not valid JSON: {err}") from None
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise CliError(f"--game {text!r}: a JSON spec needs a string 'name'")
        return spec
    name, _, rest = text.partition(":")
    if not name:
        raise CliError(f"--game {text!r}: missing game name (one of {', '.join(games.names())})")
    spec: dict[str, Any] = {"name": name}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise CliError(f"--game {text!r}: option {item!r} is not key=value")
        try:
            spec[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            spec[key.strip()] = value.strip()
    return spec


@contextlib.contextmanager
def protocol_stdout() -> Iterator[TextIO]:
    """Reserve stdout for an engine protocol (GTP, UCI): yields it, and sends stray prints to stderr."""
    out = sys.stdout
    sys.stdout = sys.stderr
    try:
        yield out
    finally:
        sys.stdout = out


def machine_info() -> dict[str, Any]:
    """What a benchmark ran on: host, CPU model, core count, Python, date (UTC)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def emit(result: dict[str, Any], as_json: bool, render: Callable[[dict[str, Any]], str]) -> None:
    print(json.dumps(result, indent=2) if as_json else render(result))


# Modules that add sub-commands: each defines ``register(commands, bench)`` where
# ``commands`` is the top-level sub-parser set and ``bench`` the ``zeroplay bench`` one.
COMMAND_MODULES: tuple[str, ...] = (
    "cluster.cmd_games",
    "cluster.cmd_train",
    "cluster.bench_tictactoe",
    "cluster.bench_search",
    "cluster.match",
    "cluster.bench_connect4",
    "cluster.analyze",
    "cluster.play",
    "cluster.gtp",
    "cluster.uci",
    "cluster.status",
    "cluster.bench_cluster",
    "cluster.bench_inference",
    "cluster.evaluator",
    "cluster.report",
)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="zeroplay",
        description="AlphaZero-style self-play on Ray: train, analyse, play, and measure game-playing networks.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bench_parser = commands.add_parser("bench", help="benchmarks (JSON with --json); see BENCHMARKS.md")
    bench = bench_parser.add_subparsers(dest="bench_command", required=True, metavar="BENCHMARK")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands, bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as err:
        print(f"zeroplay: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    # Import the module under its package name, so the commands' CliError is the one caught.
    from cluster.cli import main as package_main

    sys.exit(package_main())
