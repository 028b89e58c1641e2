"""Board symmetries shared by the square-board games (tic-tac-toe, Go) and Connect Four.

Symmetry ``k`` in 0..7 of a square board is ``rot90`` ``k % 4`` times, followed by a
left-right flip when ``k >= 4``. Board actions are ``row * W + col`` on the
observation grid (row 0 is the top row of the observation); any actions past
``H * W`` (Go's pass) map to themselves.
"""

from __future__ import annotations

import functools

import numpy as np


def transform_planes(planes: np.ndarray, k: int) -> np.ndarray:
    """Dihedral symmetry ``k`` (0..7) of planes ``[..., H, W]`` (H == W for k not in {0, 4})."""
    out = np.rot90(planes, k % 4, axes=(-2, -1))
    if k >= 4:
        out = np.flip(out, axis=-1)
    return np.ascontiguousarray(out)


@functools.cache
def _board_permutation(height: int, width: int, k: int, extra: int) -> np.ndarray:
    cells = np.arange(height * width, dtype=np.int64).reshape(height, width)
    moved = transform_planes(cells, k)
    # moved[r, c] holds the original cell that lands on (r, c).
    perm = np.empty(height * width + extra, dtype=np.int64)
    perm[moved.reshape(-1)] = np.arange(height * width, dtype=np.int64)
    perm[height * width :] = np.arange(height * width, height * width + extra, dtype=np.int64)
    perm.setflags(write=False)
    return perm


def board_action_permutation(height: int, width: int, k: int, extra: int = 0) -> np.ndarray:
    """Permutation ``[H*W + extra]``: board action ``a`` becomes ``perm[a]`` under symmetry ``k``."""
    return _board_permutation(height, width, k, extra)
