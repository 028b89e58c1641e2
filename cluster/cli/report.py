"""``zeroplay report RUN_DIR``: PNG plots of a run (see :mod:`cluster.observe.report`)."""

from __future__ import annotations

import argparse
from typing import Any

from cluster.observe.report import make_report


def cmd_report(args: argparse.Namespace) -> int:
    for path in make_report(args.run_dir, args.out):
        print(path)
    return 0



def register(commands: Any, bench: Any) -> None:
    p = commands.add_parser("report", help="PNG plots of a run: losses, Elo, throughput, replay (RUN_DIR/report)")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run directory")
    p.add_argument("--out", metavar="DIR", help="where the PNG files go (default RUN_DIR/report)")
    p.set_defaults(func=cmd_report)
