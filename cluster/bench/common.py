"""What every benchmark shares: the machine it ran on, and the frame of its JSON report."""

from __future__ import annotations

import datetime
import os
import platform
from typing import Any


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
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }

