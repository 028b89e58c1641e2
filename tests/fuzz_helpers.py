"""The fuzz tests' hypothesis settings, in one place.

In the suite the examples are few and derandomised, so a run is quick and the same every
time; ``ZEROPLAY_FUZZ_EXAMPLES=5000`` runs a longer, random search instead.
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: Examples asked for in the environment (0: the suite's few, derandomised).
EXAMPLES = int(os.environ.get("ZEROPLAY_FUZZ_EXAMPLES", "0"))


def examples(default: int) -> int:
    """``default`` examples in the suite, else as many as ``ZEROPLAY_FUZZ_EXAMPLES`` asks."""
    return EXAMPLES or default


def fuzz_settings(default_examples: int, deadline_seconds: float) -> settings:
    """Settings for a fuzz test: ``default_examples`` (see :func:`examples`), each within the deadline."""
    return settings(
        max_examples=examples(default_examples),
        deadline=timedelta(seconds=deadline_seconds),
        derandomize=not EXAMPLES,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                               HealthCheck.data_too_large],
    )


def mutations(original: str | bytes, max_edits: int = 6) -> st.SearchStrategy:
    """``original`` (text or bytes, and of the same type) with 1 to ``max_edits`` of its
    characters or bytes replaced, inserted or deleted."""
    element = st.integers(0, 255) if isinstance(original, bytes) else st.characters(codec="utf-8")
    edit = st.tuples(st.integers(0, 10**6), st.sampled_from("rid"), element)

    def apply(edits: list) -> str | bytes:
        items = list(original)
        for position, kind, item in edits:
            i = position % (len(items) + 1)
            if kind == "r" and i < len(items):
                items[i] = item
            elif kind == "i":
                items.insert(i, item)
            elif i < len(items):
                del items[i]
        return bytes(items) if isinstance(original, bytes) else "".join(items)

    return st.lists(edit, min_size=1, max_size=max_edits).map(apply)
