"""How tests run the ``zeroplay`` command: the console script that ``pip install`` puts beside Python.

The tests of a promise (loopback only, nothing lost, time kept) run it as a user does, in
a subprocess. ``PYTHONPATH`` is pointed at this checkout so that the code under test is
the code that runs, whichever copy the console script was installed from.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def zeroplay_argv(*args: str) -> list[str]:
    """``[path/to/zeroplay, *args]``; fails the test run if the console script is not installed."""
    script = Path(sys.executable).with_name("zeroplay")
    if not script.is_file():
        raise FileNotFoundError(
            f"the zeroplay console script is not installed next to {sys.executable}; "
            "install the project with `pip install -e .`"
        )
    return [str(script), *args]


def zeroplay_env(extra: Mapping[str, str] | None = None, *, drop: Sequence[str] = ()) -> dict[str, str]:
    """The environment a user's shell would give the command, with this checkout first on the path."""
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.pop("RAY_ADDRESS", None)  # a user on a laptop has no cluster address set
    env.update(extra or {})
    return env


def run_zeroplay(*args: str, env: Mapping[str, str] | None = None, **kwargs: Any) -> subprocess.CompletedProcess:
    """Run ``zeroplay ARGS`` to completion (text mode, output captured unless told otherwise)."""
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    return subprocess.run(zeroplay_argv(*args), env=zeroplay_env(env), **kwargs)


def start_zeroplay(
    *args: str, env: Mapping[str, str] | None = None, drop: Sequence[str] = (), **kwargs: Any
) -> subprocess.Popen:
    """Start ``zeroplay ARGS`` in its own process session (so the test can kill its whole tree)."""
    kwargs.setdefault("start_new_session", True)
    return subprocess.Popen(zeroplay_argv(*args), env=zeroplay_env(env, drop=drop), **kwargs)
