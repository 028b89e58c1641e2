"""The root of every error zeroplay raises on purpose.

Every package raises narrow errors (a bad move, a corrupt record, a setting out of
range, an engine that died) that name the offending input. All of them derive from
:class:`ZeroplayError`, so a front end can turn any of them into one clear line,
and each still derives from the built-in class it is (``ValueError`` for bad input,
``RuntimeError`` for a failure of something running, ``LookupError`` for a missing
entry). The class lives in ``games`` because that is the package every other one
may import.
"""

from __future__ import annotations


class ZeroplayError(Exception):
    """Base of every error zeroplay raises on purpose; its message names the offending input."""


__all__ = ["ZeroplayError"]
