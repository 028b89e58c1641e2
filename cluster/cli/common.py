"""What every command shares: the one-line user error, ``--game`` parsing, protocol stdout, JSON or text output."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from games.errors import ZeroplayError


class CliError(ZeroplayError):
    """A user error reported as one line on stderr with exit status 2."""


def parse_game_spec(text: str) -> dict[str, Any]:
    """A ``--game`` argument as a spec dict: ``NAME``, ``NAME:key=value,...`` (values are JSON where
    they parse, text otherwise) or a JSON object with a ``name``; validated lightly.

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


def emit(result: dict[str, Any], as_json: bool, render: Callable[[dict[str, Any]], str]) -> None:
    """Print ``result`` as indented JSON, or as ``render(result)`` text."""
    print(json.dumps(result, indent=2) if as_json else render(result))
