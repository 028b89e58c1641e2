"""``zeroplay status RUN_DIR``: where a training run stands (see :mod:`cluster.observe.status`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cluster.cli.common import emit
from cluster.observe.status import render, run_status


def cmd_status(args: argparse.Namespace) -> int:
    status = run_status(args.run_dir)
    for warning in status.warnings:
        print(f"zeroplay: warning: {warning}", file=sys.stderr)
    emit(status.to_dict(), args.json, render)
    return 0



def register(commands: Any, bench: Any) -> None:
    p = commands.add_parser("status", help="where a training run stands (read from its directory; no Ray)")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run directory")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_status)
