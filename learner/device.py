"""Where the network runs: device names resolved, and bf16 autocast on CUDA (nothing on the CPU)."""

from __future__ import annotations

import contextlib
from typing import Any

import torch


def autocast(device: torch.device) -> Any:
    """bf16 autocast on CUDA (weights and the optimizer stay float32); a no-op context on the CPU."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()



def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> cuda when available, else cpu."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


__all__ = ["autocast", "resolve_device"]
