"""Property-based fuzzing of the run configuration's outside inputs: ``--config`` files and ``--set`` flags.

The contract: whatever the file's bytes or the flag's text, :func:`cluster.config.run.resolve`
returns a configuration or raises :class:`~cluster.config.run.ConfigError` (a ZeroplayError,
printed as one line), in bounded time; a configuration it returns is written by
``dump_toml`` as TOML that reads back to the same configuration; and valid settings
within their bounds are accepted.

Examples are few and derandomised; ``ZEROPLAY_FUZZ_EXAMPLES=5000`` runs a longer, random search.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from fuzz_helpers import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from cluster.config.run import (
    FIELD_BOUNDS,
    SECTIONS,
    ConfigError,
    RunConfig,
    dump_toml,
    from_mapping,
    resolve,
)

FUZZ = fuzz_settings(40, 2)

GAMES = ["tictactoe", "connect4", "go", "chess"]
FIELDS = {
    section: [f.name for f in dataclasses.fields(type(getattr(resolve("tictactoe"), section)))]
    for section in SECTIONS
    if section != "game"
}


def _keys(section: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(FIELDS.get(section, ["x"])), st.text(min_size=1, max_size=8))


_SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 2, 64, 2**16, 2**31, 2**40, 2**62, 2**63, 10**12]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 0.5, 1e-5, 600.0, 1e6]),
    st.text(max_size=12),
    st.sampled_from(["cpu", "cuda", "cuda:1", "auto", "shared", "local", "gumbel", "puct", "adamw", "sgd",
                     "cuda:\u0007", "cuda:1\n", "random\u007f", 'mcts-rollouts:"64\\']),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(min_size=1, max_size=5), inner,
                                                                        max_size=3)),
    max_leaves=6,
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A TOML document's tables: mostly the real sections and keys, some strangers."""
    tables: dict[str, Any] = {}
    if draw(st.booleans()):
        game = {"name": draw(st.one_of(st.sampled_from(GAMES), st.text(max_size=6), _SCALARS))}
        if draw(st.booleans()):
            game[draw(st.sampled_from(["size", "komi", "history", "fen", "max_moves", "x"]))] = draw(_VALUES)
        tables["game"] = draw(st.one_of(st.just(game), _VALUES))
    for section in draw(st.lists(st.one_of(st.sampled_from(SECTIONS[1:]), st.text(min_size=1, max_size=6)),
                                 max_size=3, unique=True)):
        tables[section] = draw(st.dictionaries(_keys(section), _VALUES, max_size=3))
    return tables


def _toml(value: Any) -> str:
    """TOML text of a value (floats as TOML writes them: nan, inf, -inf)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{_string(k)} = {_toml(v)}" for k, v in value.items()) + "}"


def _string(text: str) -> str:
    return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\U{ord(c):08x}" for c in text) + '"'


def _document_text(tables: dict[str, Any]) -> str:
    """A TOML document: top-level keys for values that are not tables, then one [table] each."""
    keys = "".join(f"{_string(k)} = {_toml(v)}\n" for k, v in tables.items() if not isinstance(v, dict))
    return keys + "".join(
        f"[{_string(name)}]\n" + "".join(f"{_string(k)} = {_toml(v)}\n" for k, v in table.items())
        for name, table in tables.items()
        if isinstance(table, dict)
    )


def _resolve_or_config_error(**kwargs: Any) -> RunConfig | None:
    try:
        config = resolve(**kwargs)
    except ConfigError:
        return None
    _assert_round_trips(config)
    return config


def _assert_round_trips(config: RunConfig) -> None:
    again = from_mapping(tomllib.loads(dump_toml(config)), "dumped")
    assert again == config


@pytest.mark.slow
@FUZZ
@given(documents())
def test_any_config_file_gives_a_config_or_a_config_error(tmp_path_factory, tables: dict[str, Any]) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "run.toml"
    path.write_text(_document_text(tables), encoding="utf-8")
    _resolve_or_config_error(config_file=path)


@pytest.mark.slow
@FUZZ
@given(st.sampled_from(GAMES), st.data())
def test_any_damage_to_a_stored_config_gives_a_config_or_a_config_error(tmp_path_factory, game: str, data) -> None:
    text = dump_toml(resolve(game)).encode()
    edits = data.draw(st.lists(st.tuples(st.integers(0, len(text)), st.binary(max_size=3), st.integers(0, 3)),
                               min_size=1, max_size=4))
    for position, insert, remove in edits:
        text = text[:position] + insert + text[position + remove:]
    path = tmp_path_factory.mktemp("fuzz") / "config.toml"
    path.write_bytes(text)
    _resolve_or_config_error(config_file=path)


_ASSIGNMENT_VALUES = st.one_of(
    _VALUES.map(_toml),
    st.text(max_size=20),
    st.sampled_from(["[" * 5000, "{a=" * 3000, "1\nx = 2", '"unterminated', "inf", "-nan", "0x7fffffffffffffffff"]),
)


@pytest.mark.slow
@FUZZ
@given(
    st.lists(
        st.tuples(
            st.one_of(st.sampled_from(SECTIONS), st.text(max_size=6)),
            st.one_of(st.sampled_from(sorted({k for keys in FIELDS.values() for k in keys})), st.text(max_size=6)),
            _ASSIGNMENT_VALUES,
            st.sampled_from(["{s}.{k}={v}", "{s}.{k} = {v}", "{s}{k}={v}", "{s}.{k}.x={v}", "{v}"]),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_any_set_flags_give_a_config_or_a_config_error(items: list[tuple[str, str, str, str]]) -> None:
    assignments = [form.format(s=section, k=key, v=value) for section, key, value, form in items]
    _resolve_or_config_error(game="tictactoe", assignments=assignments)


# Valid settings, each drawn within its documented range.
_VALID = {
    "network.blocks": st.integers(0, 4),
    "network.channels": st.integers(1, 64),
    "search.num_simulations": st.integers(1, FIELD_BOUNDS[("search", "num_simulations")]),
    "search.algorithm": st.sampled_from(["puct", "gumbel"]),
    "search.dirichlet_fraction": st.floats(0, 1),
    "selfplay.actors": st.integers(0, 10_000),
    "selfplay.games_per_actor": st.integers(1, 1 << 16),
    "selfplay.chunk_seconds": st.floats(0.001, 600),
    "selfplay.resources": st.dictionaries(st.sampled_from(["selfplay", "node:10.0.0.1", "a b", 'q"x']),
                                          st.floats(0.0001, 1e6), max_size=2),
    "replay.capacity": st.integers(1, 1 << 40),
    "replay.max_samples_per_position": st.one_of(st.floats(0.01, 1e9), st.just(math.inf)),
    "train.batch_size": st.integers(1, 1 << 16),
    "train.learning_rate": st.floats(1e-6, 1.0),
    "run.seed": st.integers(0, 2**63 - 1),
    "run.minutes": st.floats(0.01, 1e6),
}


@pytest.mark.slow
@FUZZ
@given(st.sampled_from(GAMES), st.dictionaries(st.sampled_from(sorted(_VALID)), st.none(), min_size=1, max_size=5),
       st.data())
def test_valid_settings_are_accepted_and_round_trip(game: str, keys: dict[str, None], data) -> None:
    values = {key: data.draw(_VALID[key], label=key) for key in keys}
    config = resolve(game, assignments=[f"{key}={_toml(value)}" for key, value in values.items()])
    for key, value in values.items():
        section, field = key.split(".")
        assert getattr(getattr(config, section), field) == value
    _assert_round_trips(config)


def test_the_file_of_a_resolved_config_is_accepted_as_is(tmp_path: Path) -> None:
    for game in GAMES:
        path = tmp_path / f"{game}.toml"
        path.write_text(dump_toml(resolve(game)), encoding="utf-8")
        assert resolve(config_file=path) == resolve(game)
