"""``zeroplay records``: games of outside engines (or any players) as record collections, played on Ray actors.

Each :class:`RecordsRunner` actor starts its own two players once (``gtp:CMD``,
``uci:CMD``, ``random``, ``mcts-rollouts:N`` or a checkpoint: :func:`cluster.arena.players.parse_player`)
and plays the games the driver hands it with the match machinery
(:func:`cluster.arena.match.play_game`), two at a time: game ``2k`` and ``2k + 1``
share the same seeded random opening (:func:`cluster.arena.match.random_opening`,
seeded by the seed and ``k``), with the colours swapped, as in ``zeroplay match``.
Every finished game is appended (and flushed) to the actor's current collection
file, ``OUT/records-AA-NNNN.<ext>`` (SGF trees for Go, PGN games for chess, move
lists otherwise), a new file every ``per_file`` games; each record carries the
players, the result, the event ``zeroplay records``, the game number as its round
and its random opening length (the ``RandomOpening`` tag, so that an importer gives
those moves no policy target). The driver (:func:`generate_records`) balances the
games over the actors, one pair per call, and writes ``OUT/summary.json``: games,
results, endings, mean length, games per second.

Without an address the actors run on an embedded Ray on this machine, loopback only
(:func:`cluster.runtime.ray_setup.connect`), as ``zeroplay train`` does.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from cluster.runtime.ray_setup import connect
from games.errors import ZeroplayError

SUMMARY_FILE = "summary.json"
EVENT = "zeroplay records"


class RecordsError(ZeroplayError, ValueError):
    """Record generation that cannot run as asked (bad settings, players that do not start); names it."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class RecordsConfig:
    """What ``zeroplay records`` plays.

    Attributes:
        a, b: the two player specs (``b`` = ``a``: the engine against itself).
        game: the game spec (None: a checkpoint player's game).
        games: how many games.
        actors: Ray actors playing at once.
        out: where the collections and the summary go.
        per_file: games per collection file.
        random_opening_plies: random moves at the start of each pair of games.
        seed: seeds the openings and the random players.
        movetime_ms: time per move of ``uci:`` engines.
        uci_options: ``setoption`` pairs for ``uci:`` engines (e.g. ``("Skill Level", "3")``).
        sims: simulations per move of checkpoint players.
        engine_timeout: seconds an outside engine may take to answer before it forfeits.
    """

    a: str
    b: str
    game: dict[str, Any] | None
    games: int
    actors: int
    out: Path
    per_file: int = 100
    random_opening_plies: int = 4
    seed: int = 0
    movetime_ms: int = 100
    uci_options: tuple[tuple[str, str], ...] = ()
    sims: int = 200
    engine_timeout: float = 120.0

    def __post_init__(self) -> None:
        for name in ("games", "actors", "per_file", "movetime_ms", "sims"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise RecordsError(f"--{name.replace('_', '-')} must be a positive integer, got {value!r}")
        if self.random_opening_plies < 0:
            raise RecordsError(f"--random-opening-plies must be >= 0, got {self.random_opening_plies}")


class RecordsRunner:
    """Plays games between two players and appends them to collection files (a plain class; Ray wraps it).

    Args:
        index: the actor's number (in its file names).
        config: what to play (its ``out`` must exist).
    """

    def __init__(self, index: int, config: RecordsConfig) -> None:
        from cluster.arena.match import resolve_game
        from cluster.arena.players import parse_player
        from cluster.engines.engine import EngineConfig
        from games.records import record_extension

        self.index = index
        self.config = config
        try:
            self.game = resolve_game(config.a, config.b, config.game)
            engine_config = EngineConfig(sims=config.sims, threads=1)
            self.players = []
            for k, spec in enumerate((config.a, config.b)):
                self.players.append(parse_player(
                    spec, self.game, engine_config, seed=config.seed * 1000 + index * 2 + k,
                    uci_movetime_ms=config.movetime_ms, uci_options=config.uci_options,
                    engine_timeout=config.engine_timeout,
                ))
        except ZeroplayError as err:  # a bad game, a player that does not start
            self.close()
            raise RecordsError(str(err)) from None
        if self.players[0].name == self.players[1].name and config.a != config.b:
            self.players[1].name += " (B)"
        self.extension = record_extension(self.game)
        self.files: list[str] = []
        self._file: TextIO | None = None
        self._in_file = 0

    def _write(self, text: str) -> None:
        if self._file is None or self._in_file >= self.config.per_file:
            if self._file is not None:
                self._file.close()
            path = self.config.out / f"records-{self.index:02d}-{len(self.files):04d}.{self.extension}"
            self._file = open(path, "x", encoding="utf-8")
            self.files.append(str(path))
            self._in_file = 0
        if self._in_file:
            self._file.write("\n")
        self._file.write(text.rstrip("\n") + "\n")
        self._file.flush()
        self._in_file += 1

    def play(self, pair: int) -> list[dict[str, Any]]:
        """Play games ``2 * pair`` and ``2 * pair + 1`` (if within the total); one summary per game."""
        from cluster.arena.match import play_game, random_opening
        from games.records import OPENING_TAG, write_record

        config = self.config
        rng = random.Random(f"{config.seed}:{pair}")
        opening = random_opening(self.game, config.random_opening_plies, rng) if config.random_opening_plies else []
        out = []
        for index in (2 * pair, 2 * pair + 1):
            if index >= config.games:
                break
            a_player = index % 2
            players = (self.players[0], self.players[1]) if a_player == 0 else (self.players[1], self.players[0])
            start = time.perf_counter()
            game = play_game(self.game, players, opening, index=index, a_player=a_player)
            record = dataclasses.replace(game.record, event=EVENT,
                                         tags={**game.record.tags, OPENING_TAG: str(len(opening))})
            self._write(write_record(record))
            out.append({**game.to_dict(), "seconds": time.perf_counter() - start, "file": self.files[-1]})
        return out

    def close(self) -> list[str]:
        """Stop the players and close the current file; returns the files written."""
        for player in getattr(self, "players", []):
            player.close()
        if getattr(self, "_file", None) is not None:
            self._file.close()
            self._file = None
        return list(getattr(self, "files", []))


def summarize(config: RecordsConfig, results: Sequence[dict[str, Any]], files: Sequence[str], seconds: float,
              lost: int, game_spec: dict[str, Any]) -> dict[str, Any]:
    """The summary of a records run (what ``summary.json`` holds)."""
    wins = sum(r["score_a"] == 1.0 for r in results)
    losses = sum(r["score_a"] == 0.0 for r in results)
    draws = sum(r["score_a"] == 0.5 for r in results)
    reasons: dict[str, int] = {}
    for r in results:
        reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
    plies = [r["plies"] for r in results]
    return {
        "command": "records",
        "game": game_spec,
        "a": config.a,
        "b": config.b,
        "games": len(results),
        "lost": lost,
        "results": {"a_wins": wins, "b_wins": losses, "draws": draws, "void": sum(r["score_a"] is None
                                                                                   for r in results)},
        "endings": reasons,
        "mean_plies": sum(plies) / len(plies) if plies else 0.0,
        "seconds": round(seconds, 3),
        "games_per_s": len(results) / seconds if seconds > 0 else 0.0,
        "actors": config.actors,
        "random_opening_plies": config.random_opening_plies,
        "seed": config.seed,
        "out": str(config.out),
        "files": sorted(files),
    }


def generate_records(
    config: RecordsConfig,
    *,
    address: str | None = None,
    on_game: Callable[[dict[str, Any]], None] | None = None,
    out: TextIO = sys.stderr,
) -> dict[str, Any]:
    """Play ``config.games`` games on ``config.actors`` Ray actors and write the collections and the summary.

    Raises:
        RecordsError: a player does not start (the message names it), or ``out`` holds records already.
    """
    import ray

    from cluster.arena.match import resolve_game

    game = resolve_game(config.a, config.b, config.game)  # fails fast on a bad game or missing checkpoint
    config.out.mkdir(parents=True, exist_ok=True)
    if any(p.name.startswith("records-") or p.name == SUMMARY_FILE for p in config.out.iterdir()):
        raise RecordsError(f"{config.out} holds records already; choose another --out")
    RecordsRunner(0, config).close()  # the players start here, or the error names the one that does not
    pairs = (config.games + 1) // 2
    actors_wanted = min(config.actors, pairs)
    started = connect(address, num_cpus=max(actors_wanted, os.cpu_count() or 1))
    runner_class = ray.remote(RecordsRunner)
    start = time.monotonic()
    results: list[dict[str, Any]] = []
    files: list[str] = []
    lost = 0
    try:
        actors = [runner_class.options(num_cpus=1, max_restarts=0).remote(i, config) for i in range(actors_wanted)]
        pending: dict[Any, tuple[int, int]] = {}
        next_pair = 0
        for i in range(actors_wanted):
            if next_pair < pairs:
                pending[actors[i].play.remote(next_pair)] = (i, next_pair)
                next_pair += 1
        alive = set(range(actors_wanted))
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            ref = ready[0]
            i, pair = pending.pop(ref)
            try:
                games_played = ray.get(ref)
            except ray.exceptions.RayError as err:
                lost += len([g for g in (2 * pair, 2 * pair + 1) if g < config.games])
                alive.discard(i)
                print(f"zeroplay records: actor {i} failed ({type(err).__name__}); its games of pair {pair} "
                      "are lost", file=out, flush=True)
                if not alive:
                    break
                continue
            for result in games_played:
                results.append(result)
                if on_game is not None:
                    on_game(result)
            if next_pair < pairs:
                pending[actors[i].play.remote(next_pair)] = (i, next_pair)
                next_pair += 1
        for i in alive:
            try:
                files.extend(ray.get(actors[i].close.remote(), timeout=60))
            except ray.exceptions.RayError:
                pass
    finally:
        if started:
            ray.shutdown()
    results.sort(key=lambda r: r["index"])
    summary = summarize(config, results, files, time.monotonic() - start, lost, game.spec())
    summary["records"] = results
    (config.out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


__all__ = ["EVENT", "SUMMARY_FILE", "RecordsConfig", "RecordsError", "RecordsRunner", "generate_records",
           "summarize"]
