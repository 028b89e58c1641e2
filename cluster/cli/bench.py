"""``zeroplay bench ...``: the command line of the benchmarks in :mod:`cluster.bench` (JSON with --json)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from cluster.bench import cluster as bench_cluster
from cluster.bench import connect4 as bench_connect4
from cluster.bench import engine as bench_engine
from cluster.bench import inference as bench_inference
from cluster.bench import recipe as bench_recipe
from cluster.bench import search as bench_search
from cluster.bench import tictactoe as bench_tictactoe
from cluster.bench.common import machine_info
from cluster.cli.common import CliError, emit


def register(commands: Any, bench: Any) -> None:
    """Add ``zeroplay bench cluster|inference|connect4|tictactoe|search|engine|recipe``."""
    for add in (_register_tictactoe, _register_search, _register_connect4, _register_cluster, _register_inference,
                _register_engine, _register_recipe):
        add(bench)


def cmd_bench_engine(args: argparse.Namespace) -> int:
    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    try:
        settings = bench_engine.EngineBenchSettings(
            moves=args.moves, movetime_ms=args.movetime, clock_ms=args.clock, increment_ms=args.increment,
            engines=engines, quiet=not args.hog_only, hog=not args.no_hog, chess=args.chess, go=args.go,
            threads=args.threads,
        )
    except bench_engine.EngineBenchError as err:
        raise CliError(str(err)) from None
    result = bench_engine.run_engine_bench(settings, log=_progress("bench engine"))
    emit(result, args.json, bench_engine.render)
    return 0


def _register_engine(bench: Any) -> None:
    p = bench.add_parser(
        "engine",
        help="time keeping of zeroplay uci and gtp: answer time over the move time, quiet and beside a CPU hog",
        description=bench_engine.__doc__.split("\n\n")[0],
    )
    p.add_argument("--moves", type=int, default=20, help="answers timed per engine and run (default 20)")
    p.add_argument("--movetime", type=int, default=100, metavar="MS", help="time per move in ms (default 100)")
    p.add_argument("--clock", type=int, default=2000, metavar="MS",
                   help="each side's clock in the UCI clock game, ms (default 2000; 0: no clock game)")
    p.add_argument("--increment", type=int, default=50, metavar="MS", help="the clock game's increment (default 50)")
    p.add_argument("--engines", default="uci,gtp", help="uci, gtp or uci,gtp (default both)")
    p.add_argument("--chess", metavar="CKPT", help="chess checkpoint or run dir for zeroplay uci (default: fresh)")
    p.add_argument("--go", metavar="CKPT", help="9x9 Go checkpoint or run dir for zeroplay gtp (default: fresh)")
    p.add_argument("--threads", type=int, default=1, help="torch threads of the engines (default 1)")
    hog = p.add_mutually_exclusive_group()
    hog.add_argument("--no-hog", action="store_true", help="only the quiet run")
    hog.add_argument("--hog-only", action="store_true", help="only the run beside a CPU hog")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_bench_engine)


def parse_actor_counts(text: str, flag: str = "--actors") -> tuple[int, ...]:
    """``--actors`` text (``1,2,4``) as counts (also ``--batches``); a CliError names bad text."""
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise CliError(f"{flag} {text!r}: expected comma-separated integers, e.g. 1,2") from None
    if not counts or min(counts) < 1:
        raise CliError(f"{flag} {text!r}: counts must be >= 1")
    return counts


def cmd_bench_cluster(args: argparse.Namespace) -> int:
    settings = bench_cluster.ClusterBenchSettings(
        game=args.game,
        seconds=args.seconds,
        actors=parse_actor_counts(args.actors) if args.actors else (),
        assignments=tuple(args.set or ()),
        writers=args.writers,
        ingest_games=args.ingest_games,
    )
    result = bench_cluster.run_cluster_bench(settings, log=_progress("bench cluster"))
    emit(result, args.json, render_cluster)
    return 0


def _register_cluster(bench: Any) -> None:
    p = bench.add_parser(
        "cluster",
        help="Ray overhead, weight broadcast, replay ingest and self-play scaling on a local Ray",
        description=bench_cluster.__doc__.split("\n\n")[0],
    )
    p.add_argument("--game", default="connect4", choices=bench_cluster.GAMES, help="game (default connect4)")
    p.add_argument("--seconds", type=float, default=10.0, help="length of each measured phase (default 10)")
    p.add_argument("--actors", help="actor counts for the scaling measurement, e.g. 1,2 (default 1..CPUs)")
    p.add_argument(
        "--set",
        action="append",
        metavar="SECTION.KEY=VALUE",
        help="override the game's run configuration, e.g. --set network.blocks=2 (repeatable)",
    )
    p.add_argument("--writers", type=int, default=8, help="concurrent replay writers (default 8)")
    p.add_argument("--ingest-games", type=int, default=2048, help="games sent to the replay actor (default 2048)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_bench_cluster)


def cmd_bench_inference(args: argparse.Namespace) -> int:
    settings = bench_inference.InferenceBenchSettings(
        game=args.game,
        seconds=args.seconds,
        actors=parse_actor_counts(args.actors) if args.actors else (),
        device=args.device,
        inference_cpus=args.inference_cpus,
        assignments=tuple(args.set or ()),
        modes=tuple(args.modes.split(",")) if args.modes else bench_inference.MODES,
    )
    result = bench_inference.run_inference_bench(settings, log=_progress("bench inference"))
    emit(result, args.json, render_inference)
    return 0


def _progress(prefix: str) -> Any:
    return lambda line: print(f"{prefix}: {line}", file=sys.stderr, flush=True)


def _register_inference(bench: Any) -> None:
    p = bench.add_parser(
        "inference",
        help="self-play with a model copy per actor vs one shared inference actor",
        description=bench_inference.__doc__.split("\n\n")[0],
    )
    p.add_argument("--game", default="connect4", help="game (default connect4)")
    p.add_argument("--seconds", type=float, default=10.0, help="length of each measured chunk (default 10)")
    p.add_argument("--actors", help="self-play actor counts, e.g. 1,2,4 (default 1..CPUs)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default: cuda when available)")
    p.add_argument(
        "--inference-cpus",
        type=float,
        default=1.0,
        help="CPUs of the shared inference actor on a CPU device (default 1)",
    )
    p.add_argument("--modes", help="local, shared or local,shared (default both)")
    p.add_argument(
        "--set",
        action="append",
        metavar="SECTION.KEY=VALUE",
        help="override the game's run configuration, e.g. --set network.blocks=2 (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_bench_inference)


def cmd_bench_connect4(args: argparse.Namespace) -> int:
    from cluster.engines.engine import Engine, EngineConfig

    if args.checkpoint is None and args.game is None:
        raise CliError("give a Connect Four CHECKPOINT, or --game connect4 for a fresh network")
    if args.game is not None and args.game != "connect4":
        raise CliError(f"bench connect4 scores Connect Four networks, not --game {args.game!r}")
    if args.sims < 1:
        raise CliError(f"--sims must be >= 1, got {args.sims}")
    if args.limit is not None and args.limit < 1:
        raise CliError(f"--limit must be >= 1, got {args.limit}")
    data_dir = bench_connect4.find_data_dir(args.data)
    sets = bench_connect4.resolve_sets(data_dir, args.sets.split(",") if args.sets else None)
    engine = Engine.load(
        args.checkpoint, EngineConfig(sims=args.sims, threads=args.threads), game_spec={"name": "connect4"}
    )
    t0 = time.perf_counter()
    per_set = bench_connect4.run_bench(
        engine, data_dir, sets, sims=args.sims, limit=args.limit, search=not args.no_search
    )
    result = {
        "benchmark": "connect4",
        "checkpoint": args.checkpoint,
        "weights_version": engine.weights_version,
        "network": engine.source,
        "sims": args.sims,
        "limit": args.limit,
        "data": str(data_dir),
        "machine": machine_info(),
        "seconds": round(time.perf_counter() - t0, 3),
        "sets": per_set,
    }

    def render(res: dict[str, Any]) -> str:
        cols = (
            ["raw policy"] + ([f"search {res['sims']}"] if not args.no_search else []) + list(bench_connect4.BASELINES)
        )
        lines = [
            f"Connect Four bench: {res['network']} (v{res['weights_version']}); mistake rate / exact-optimal rate",
            f"{'set':<20} {'n':>5} " + " ".join(f"{c:>15}" for c in cols),
        ]
        for name, e in res["sets"].items():
            figs = (
                [e["raw_policy"]]
                + ([e["search"]] if "search" in e else [])
                + [e["baselines"][k] for k in bench_connect4.BASELINES]
            )
            cells = " ".join(f"{f['mistake_rate']:>7.3f} / {f['exact_optimal_rate']:.3f}" for f in figs)
            lines.append(f"{name:<20} {e['n']:>5} {cells}")
        lines.append(f"{res['seconds']:.1f} s")
        return "\n".join(lines)

    emit(result, args.json, render)
    return 0


def _register_connect4(bench: Any) -> None:
    p = bench.add_parser(
        "connect4",
        help="mistake rates of a Connect Four network on solved positions (raw policy and search)",
        description=bench_connect4.__doc__.split("\n\n")[0],
    )
    p.add_argument("checkpoint", nargs="?", help="checkpoint file, checkpoints dir or run dir")
    p.add_argument("--game", help="'connect4' with no checkpoint: a fresh network (for testing)")
    p.add_argument("--sims", type=int, default=64, help="simulations per position for the search figures (default 64)")
    p.add_argument("--no-search", action="store_true", help="raw policy and baselines only")
    p.add_argument("--sets", help="comma-separated sets, e.g. end_easy,begin_hard (default: all)")
    p.add_argument("--limit", type=int, help="only the first K positions of each set")
    p.add_argument(
        "--data", help=f"data directory (default: ${bench_connect4.ENV_VAR}, else ../shared/connect4 next to the repo)"
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: batches are small, and extra threads slowed a busy 2-core box 10x)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_bench_connect4)


def cmd_bench_tictactoe(args: argparse.Namespace) -> int:
    from cluster.engines.engine import Engine, EngineConfig

    engine = Engine.load(
        args.checkpoint,
        EngineConfig(sims=max(args.sims, 1), algorithm=args.algorithm),
        game_spec={"name": "tictactoe"} if args.checkpoint is None else None,
    )
    result = {
        "benchmark": "tictactoe",
        "machine": machine_info(),
        "checkpoint": args.checkpoint,
        "algorithm": args.algorithm,
        "weights_version": engine.weights_version,
        **bench_tictactoe.grade(engine, args.sims),
    }

    def render(r: dict[str, Any]) -> str:
        lines = [
            f"tic-tac-toe, {r['positions']} positions, weights v{r['weights_version']}, {r['algorithm']} search",
            f"  raw policy mistakes: {r['raw_policy_mistakes']}",
        ]
        if r["search_mistakes"] is not None:
            lines.append(f"  search ({r['search_sims']} sims) mistakes: {r['search_mistakes']}")
        for ex in r["search_mistake_examples"]:
            lines.append(f"  mistake {ex['chose']} in\n{ex['position']}")
        return "\n".join(lines)

    emit(result, args.json, render)
    return 0


def _register_tictactoe(bench: Any) -> None:
    p = bench.add_parser("tictactoe", help="mistakes of a tic-tac-toe network on every reachable position")
    p.add_argument("checkpoint", nargs="?", help="checkpoint or run directory (none: a fresh network)")
    p.add_argument("--sims", type=int, default=64, help="search budget per position (0: raw policy only)")
    p.add_argument(
        "--algorithm", default="gumbel", choices=["puct", "gumbel"], help="search algorithm (default: the engines')"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench_tictactoe)


def cmd_bench_search(args: argparse.Namespace) -> int:
    from learner.backends import check_backend_name

    keys = args.games.split(",")
    unknown = [k for k in keys if k not in bench_search.GAMES]
    if unknown:
        raise CliError(f"unknown game(s) {unknown}; choose from {', '.join(bench_search.GAMES)}")
    if args.num_games < 2:
        raise CliError("--num-games must be at least 2 (it is compared with one game at a time)")
    if args.reps < 1:
        raise CliError(f"--reps must be >= 1, got {args.reps}")
    try:
        check_backend_name(args.backend)
    except ValueError as err:
        raise CliError(f"--backend: {err}") from None
    batch_sizes = parse_actor_counts(args.batches, flag="--batches") if args.batches else ()
    results = {
        k: bench_search.bench_game(
            k, args.num_games, args.sims, args.seconds, args.algorithm,
            backend=args.backend, reps=args.reps, batch_sizes=batch_sizes,
        )
        for k in keys
    }
    out = {
        "benchmark": "search",
        "machine": machine_info(),
        "targets": {"efficiency": 0.8, "batching_speedup": 5.0},
        "games": results,
    }
    emit(out, args.json, render_search)
    return 0


def render_search(r: dict[str, Any]) -> str:
    lines = [
        f"{'game':<10} {'backend':<12} {'net pos/s':>10} {'eager':>8} {'x eager':>14} {'sims/s':>10} "
        f"{'efficiency':>10} {'in net':>7} {'G=1 sims/s':>11} {'speedup':>8}"
    ]
    for key, g in r["games"].items():
        low, high = g["backend_speedup_range"]
        lines.append(
            f"{key:<10} {g['backend']:<12} {g['network_positions_per_s']:>10.0f}"
            f" {g['eager_network_positions_per_s']:>8.0f}"
            f" {g['backend_speedup']:>5.2f} [{low:.2f}-{high:.2f}] {g['selfplay_simulations_per_s']:>10.0f}"
            f" {g['efficiency']:>10.2f} {g['evaluate_fraction']:>7.2f} {g['single_game_simulations_per_s']:>11.0f}"
            f" {g['batching_speedup']:>8.1f}"
        )
    for key, g in r["games"].items():
        load = g["load_average_1min"]
        lines.append(
            f"{key}: {g['backend']} (asked {g['requested_backend']}) builds in {g['backend_build_seconds']:.2f} s, "
            f"takes new weights in {1000 * g['backend_reload_seconds']:.0f} ms; load average "
            f"{load['start']} -> {load['end']}; x eager over {g['backend_reps']} interleaved pairs: "
            + ", ".join(
                f"B={b} {p['speedup']:.2f} [{p['speedup_min']:.2f}-{p['speedup_max']:.2f}]"
                for b, p in g["backend_batches"].items()
            )
        )
    return "\n".join(lines)


def _register_search(bench: Any) -> None:
    p = bench.add_parser(
        "search",
        help="self-play simulations/s against raw network positions/s (with and without the inference backend)",
    )
    p.add_argument("--games", default="connect4,go9", help=f"comma-separated subset of {','.join(bench_search.GAMES)}")
    p.add_argument("--num-games", type=int, default=64, help="games per worker G (default 64)")
    p.add_argument("--sims", type=int, default=64, help="simulations per move")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds of self-play per measurement")
    p.add_argument("--algorithm", default="puct", choices=["puct", "gumbel"])
    p.add_argument(
        "--backend",
        default="auto",
        help="inference backend compared with eager mode and used for self-play: auto, eager, channels_last, jit, "
        "compile, compile:MODE, onnxruntime (default auto)",
    )
    p.add_argument("--reps", type=int, default=5, help="interleaved eager/backend pairs per batch size (default 5)")
    p.add_argument("--batches", help="more batch sizes for the eager/backend comparison, e.g. 1,16,256")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench_search)


def render_cluster(r: dict[str, Any]) -> str:
    o, i, s, lr = r["overhead"], r["ingest"], r["scaling"], r["learner"]
    st = r["settings"]
    m = r["machine"]
    ok = r["meets_targets"]

    def mark(flag: bool) -> str:
        return "ok" if flag else "MISSED"

    lines = [
        f"zeroplay bench cluster: {st['game']['name']}, network {st['network']}, {st['simulations']} sims, "
        f"{st['games_per_actor']} games/actor, {st['chunk_seconds']} s chunks",
        f"machine: {m['cpu']} ({m['cores']} cores), Ray {r['ray']['version']} with {r['ray']['cpus']} CPUs; "
        f"load average {r['load_average_1min']['start']} at start, {r['load_average_1min']['end']} at end",
        f"ray overhead       {100 * o['ray_overhead']:6.2f} %  (target < 5 %)  {mark(ok['ray_overhead'])}"
        f"   [{o['actors']} actor(s)]",
        f"weights broadcast  {100 * o['weights_broadcast_normal']:6.3f} % at the normal rate (a version every "
        f"{o['publish_period_s']:.1f} s; measured {100 * o['weights_broadcast_normal_measured']:.3f} %), "
        f"{100 * o['weights_broadcast_worst']:.3f} % worst case (every chunk)  (target < 1 %)  "
        f"{mark(ok['weights_broadcast_normal'])}",
        f"                   {o['weights_bytes'] / 1e6:.2f} MB per version, {o['weight_fetch_ms']} ms per fetch+load",
        f"replay ingest      {i['games_per_s']} games/s, {i['positions_per_s']} positions/s from {i['writers']} "
        f"writers; sent {i['sent']}, accepted {i['accepted']}, reloaded {i['reloaded_games']}  "
        f"{'no loss' if i['ok'] else 'LOST GAMES'}",
        f"learner            {lr['steps_per_s']} steps/s at batch {lr['batch_size']} -> publish every "
        f"{lr['publish_period_s']} s",
    ]
    for p in s["points"]:
        lines.append(
            f"scaling            {p['actors']} actor(s): {p['simulations_per_s']:9.0f} sims/s  "
            f"efficiency {p['efficiency']:.3f}  (CPU per wall second {p['cpu_per_wall']}; "
            f"per CPU second {p['efficiency_per_cpu_s']})"
        )
    lines.append(f"                   (target >= 0.8)  {mark(ok['scaling_efficiency'])}")
    return "\n".join(lines)


def render_inference(r: dict[str, Any]) -> str:
    st = r["settings"]
    m = r["machine"]
    lines = [
        f"zeroplay bench inference: {st['game']['name']}, network {st['network']}, {st['simulations']} sims, "
        f"{st['games_per_actor']} games/actor, on {r['device']}{' (' + r['gpu'] + ')' if r['gpu'] else ''}",
        f"machine: {m['cpu']} ({m['cores']} cores), Ray {r['ray']['version']} with {r['ray']['cpus']} CPUs",
        "network alone: " + ", ".join(f"{v:.0f} pos/s at batch {b}" for b, v in r["network_positions_per_s"].items()),
    ]
    for p in r["points"]:
        extra = (
            f"  mean batch {p['mean_batch']} ({p['requests_per_batch']} requests), busy {p['inference_busy']}"
            if p["mode"] == "shared"
            else ""
        )
        lines.append(
            f"{p['mode']:6} {p['actors']:3} actor(s): {p['simulations_per_s']:10.0f} sims/s  "
            f"waiting on the network {p['evaluate_fraction']:.2f}{extra}"
        )
    if r["shared_over_local"] is not None:
        lines.append(f"faster: {r['faster']} (best shared / best local = {r['shared_over_local']})")
    return "\n".join(lines)


def cmd_bench_recipe(args: argparse.Namespace) -> int:
    from pathlib import Path

    settings = bench_recipe.RecipeBenchSettings(
        game=args.game,
        variants=tuple(bench_recipe.Variant.parse(v) for v in args.variant or ()),
        minutes=args.minutes,
        repeats=args.repeats,
        out=Path(args.out),
        assignments=tuple(args.set or ()),
        limit=args.limit,
    )
    result = bench_recipe.run_recipe_bench(settings, log=_progress("bench recipe"))
    emit(result, args.json, render_recipe)
    return 0


def render_recipe(r: dict[str, Any]) -> str:
    lines = [f"zeroplay bench recipe: {r['game']}, {r['minutes']:g} min per run, {r['repeats']} run(s) per variant"]
    for name, v in r["variants"].items():
        lines.append(f"{name}: {' '.join(v['assignments']) or '(the defaults)'}")
        lines.append(f"  games {v['games']['mean']:.0f} [{v['games']['min']:.0f}, {v['games']['max']:.0f}], "
                     f"steps {v['steps']['mean']:.0f}")
        for key, g in v["grades"].items():
            lines.append(f"  {key:<40} {g['mean']:8.4g}  [{g['min']:.4g}, {g['max']:.4g}]")
    return "\n".join(lines)


def _register_recipe(bench: Any) -> None:
    p = bench.add_parser(
        "recipe", help="training-recipe variants at equal wall time, graded on solved positions",
        description=bench_recipe.__doc__.split("\n\n")[0],
    )
    p.add_argument("--game", default="tictactoe", choices=bench_recipe.GAMES, help="game (default tictactoe)")
    p.add_argument("--variant", action="append", metavar="NAME[:SECTION.KEY=VALUE,...]",
                   help="a recipe over the defaults (repeatable); 'default' (the defaults) is always run too")
    p.add_argument("--minutes", type=float, default=5.0, help="wall time of every run (default 5)")
    p.add_argument("--repeats", type=int, default=1, help="runs per variant, seeds 0.. (default 1)")
    p.add_argument("--out", required=True, help="directory for the run directories (kept)")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="applied to every variant")
    p.add_argument("--limit", type=int, help="Connect Four: grade the first K positions of each set")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_bench_recipe)
