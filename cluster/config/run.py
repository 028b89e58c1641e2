"""The run configuration of ``zeroplay train``: typed defaults per game <- TOML file <- flags.

A TOML file has one table per part, each key checked against the typed field it
sets (unknown keys and wrong types are errors naming ``table.key``)::

    [game]          # name and options, as games.make takes them
    name = "go"
    size = 9

    [network]       # learner.NetworkConfig
    [search]        # selfplay.SearchConfig used by self-play
    [selfplay]      # SelfPlaySettings
    [replay]        # ReplaySettings
    [train]         # learner.TrainConfig
    [evaluate]      # cluster.evaluator.EvaluatorConfig (the Elo ladder during training)
    [run]           # RunSettings
    [league]        # cluster.config.league.LeagueSettings (snapshots, PFSP, exploiters; off by default)

The resolved configuration is written to ``RUN_DIR/config.toml`` and can be fed
back with ``--config``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import games
from cluster.arena.evaluator import EvaluatorConfig
from cluster.config.league import LeagueSettings
from cluster.config.presets import preset
from cluster.config.settings import ConfigError, build, short_repr, to_mapping
from learner.config import NetworkConfig, TrainConfig, check_backend_name
from learner.replay import ReplayConfigError, ReplayWindow
from selfplay.resignation import ResignationSettings
from selfplay.search import SearchConfig
from selfplay.storage import UnsafeFileError, read_regular_file
from selfplay.trajectory import has_final_area
from selfplay.worker import WorkerConfig

INFERENCE_MODES = ("local", "shared")
SECTIONS = ("game", "network", "search", "selfplay", "replay", "train", "evaluate", "run", "league")

# Bounds of the run configuration. A value beyond one cannot work: it overflows a counter,
# asks Ray for what it cannot count, or allocates beyond any machine. What a given machine
# holds is checked separately, before Ray starts (``cluster.config.resources``).
MAX_ACTORS = 10_000  # Ray actors of one run; far more than the CPUs of any cluster we run on
MAX_GAMES_PER_ACTOR = 1 << 16  # G: one actor's inference batch; beyond it a batch no longer fits a GPU
MAX_CHUNK_SECONDS = 600.0  # new weights reach an actor only between chunks, and a stop waits for one
MAX_THREADS = 1024
MAX_INFERENCE_BATCH = 1 << 20
MAX_RESOURCE_AMOUNT = 1_000_000  # of a CPU, GPU or custom Ray resource; Ray counts them in fixed point
RESOURCE_STEP = 0.0001  # the smallest amount Ray counts
MAX_REPLAY_CAPACITY = 1 << 40  # positions; the memory a machine has is the real bound (see resources)
MAX_SEGMENT_BYTES = 1 << 30  # a replay segment is read whole when the replay actor reloads
MAX_SAMPLE_GAMES_KEEP = 100_000  # files in RUN_DIR/games
MAX_LOG_SECONDS = 3600.0  # `zeroplay status` calls a run stopped after three silent periods
MAX_COUNT = 2**62  # steps and other counters: int64 with headroom (as checkpoints store them)
MAX_SEED = 2**63 - 1  # numpy seeds are non-negative; torch takes up to 2**64 - 1
MAX_CONFIG_BYTES = 1 << 20  # a --config file (a resolved configuration is about 2 KB)

#: Upper bounds of the fields of a training run that are defined outside this layer
#: (``learner.NetworkConfig``, ``selfplay.SearchConfig``, ``learner.TrainConfig``,
#: ``EvaluatorConfig``), which check only their lower bounds: engines search further than
#: self-play does, and a checkpoint's network is sized by the checkpoint.
FIELD_BOUNDS: dict[tuple[str, str], int] = {
    # KataGo's largest nets are 60 blocks x 768 channels; AlphaZero's 40 x 256.
    ("network", "blocks"): 256,
    ("network", "channels"): 4096,
    ("network", "policy_channels"): 4096,
    ("network", "value_channels"): 4096,
    ("network", "value_hidden"): 4096,
    # Self-play searches 16-1600 simulations a move in the published systems.
    ("search", "num_simulations"): 100_000,
    ("search", "gumbel_num_considered"): 4096,
    ("search", "temperature_moves"): MAX_COUNT,
    # AlphaZero trained with batches of 4096 over many TPUs; KataGo with 256.
    ("train", "batch_size"): 1 << 16,
    ("train", "warmup_steps"): MAX_COUNT,
    ("train", "total_steps"): MAX_COUNT,
    ("train", "publish_every"): MAX_COUNT,
    ("train", "checkpoint_every"): MAX_COUNT,
    ("train", "keep_checkpoints"): 10_000,
    ("train", "seed"): MAX_SEED,
    ("evaluate", "games_per_pairing"): 100_000,
    ("evaluate", "sims"): 100_000,
    ("evaluate", "opponents"): 1000,
    ("evaluate", "every_checkpoints"): MAX_COUNT,
    ("evaluate", "threads"): MAX_THREADS,
    ("evaluate", "opening_plies"): 1000,
    ("evaluate", "seed"): MAX_SEED,
}
#: Lower bounds where the field's own class has none.
FIELD_MINIMA: dict[tuple[str, str], int] = {("train", "seed"): 0, ("evaluate", "seed"): 0}


@dataclasses.dataclass(frozen=True, kw_only=True)
class SelfPlaySettings:
    """Self-play actors.

    Attributes:
        actors: self-play actors; 0 = one per CPU the cluster offers beyond the learner's,
            following the cluster as nodes join and leave.
        games_per_actor: G, games each actor plays at once (its inference batch size).
        chunk_seconds: how long one self-play call runs; new weights are taken between calls.
        torch_threads: torch threads per self-play actor.
        device: where self-play's network runs ("cpu", "cuda", "cuda:N", "auto"): in each
            actor with ``inference = "local"``, in the inference actor with ``"shared"``.
        num_gpus: fraction of a GPU each self-play actor asks Ray for (0: none); with
            ``inference = "local"`` and a CUDA device, each actor holds its own model copy there.
        resources: extra Ray custom resources each self-play actor needs (e.g. {"selfplay": 1}).
        inference: "local" - every actor evaluates its own leaves with its own model copy;
            "shared" - one inference actor evaluates the leaves of all actors, merging
            their batches into one forward pass (``learner.inference_server``).
        inference_num_cpus: CPUs Ray reserves for the shared inference actor (also its torch threads).
        inference_num_gpus: GPUs for the shared inference actor (1 to run it on a GPU).
        inference_max_batch: most positions in one forward pass of the shared inference actor.
        inference_backend: how self-play's network runs (``learner.backends``): "auto" (the
            fastest that builds: ONNX Runtime on a CPU where installed, else a frozen
            TorchScript trace; eager on CUDA), "eager", "channels_last", "jit", "compile",
            "compile:MODE" or "onnxruntime"; one that cannot run falls back to eager mode.
        full_search_share: playout cap randomization (KataGo): the share of moves searched
            with the full ``search.num_simulations`` that record a policy target; the other
            moves get a cheap search of ``cheap_simulations`` without root noise, are played,
            and train only the value. 1.0: every move gets a full search.
        cheap_simulations: the cheap searches' simulations, 1..``search.num_simulations``
            (unset: a quarter of the full budget).
        resign: resign lost games early (a value threshold chosen from playthrough games).
        resign_playthrough_share: the share of games played to the end whatever the
            threshold says, to measure how often resigning would have been wrong.
        resign_false_rate: the highest false-resign rate the threshold may cause, in [0, 1].
        resign_min_games: playthrough games seen before any game resigns.
        resign_min_moves: no resignation in a game's first this many plies.
    """

    actors: int = 1
    games_per_actor: int = 64
    chunk_seconds: float = 2.0
    torch_threads: int = 1
    device: str = "cpu"
    num_gpus: float = 0.0
    resources: dict[str, float] = dataclasses.field(default_factory=dict)
    inference: str = "local"
    inference_num_cpus: float = 1.0
    inference_num_gpus: float = 0.0
    inference_max_batch: int = 4096
    inference_backend: str = "auto"
    full_search_share: float = 1.0
    cheap_simulations: int | None = None
    resign: bool = False
    resign_playthrough_share: float = 0.1
    resign_false_rate: float = 0.05
    resign_min_games: int = 20
    resign_min_moves: int = 0

    def resignation(self) -> ResignationSettings:
        """The workers' and the replay's resignation settings."""
        try:
            return ResignationSettings(
                enabled=self.resign,
                playthrough_share=self.resign_playthrough_share,
                target_false_rate=self.resign_false_rate,
                min_games=self.resign_min_games,
                min_moves=self.resign_min_moves,
            )
        except ValueError as err:
            raise ConfigError(f"selfplay.resign_*: {err}") from None

    def worker_config(self, search: SearchConfig) -> WorkerConfig:
        """The self-play workers' configuration with ``search`` as their full search."""
        try:
            return WorkerConfig(
                num_games=self.games_per_actor,
                search=search,
                full_search_share=self.full_search_share,
                cheap_simulations=self.cheap_simulations,
                resignation=self.resignation(),
            )
        except ValueError as err:
            raise ConfigError(f"[selfplay]: {err}".replace("WorkerConfig.", "selfplay.")) from None

    def __post_init__(self) -> None:
        _int_in("selfplay.actors", self.actors, 0, MAX_ACTORS)
        _require(isinstance(self.device, str) and (
                 self.device in ("cpu", "cuda", "auto") or re.fullmatch(r"cuda:\d{1,4}", self.device) is not None),
                 f"selfplay.device must be cpu, cuda, cuda:N or auto (got {self.device!r})")
        _require(self.inference in INFERENCE_MODES,
                 f"selfplay.inference must be one of {', '.join(INFERENCE_MODES)} (got {self.inference!r})")
        _amount("selfplay.inference_num_cpus", self.inference_num_cpus)
        _amount("selfplay.inference_num_gpus", self.inference_num_gpus)
        try:
            check_backend_name(self.inference_backend)
        except ValueError as err:
            raise ConfigError(f"selfplay.inference_backend: {err}") from None
        _int_in("selfplay.inference_max_batch", self.inference_max_batch, 1, MAX_INFERENCE_BATCH)
        _int_in("selfplay.games_per_actor", self.games_per_actor, 1, MAX_GAMES_PER_ACTOR)
        _number_in("selfplay.chunk_seconds", self.chunk_seconds, 0.0, MAX_CHUNK_SECONDS, low_open=True)
        _int_in("selfplay.torch_threads", self.torch_threads, 1, MAX_THREADS)
        _amount("selfplay.num_gpus", self.num_gpus)
        _resources("selfplay.resources", self.resources)


# ReplayWindow field -> the replay setting that gives it.
_WINDOW_KEYS = {
    "kind": "window",
    "min_positions": "window_min",
    "exponent": "window_exponent",
    "growth": "window_growth",
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReplaySettings:
    """The replay actor.

    Attributes:
        capacity: positions kept (the newest); the hard maximum of the window.
        min_positions: positions required in the window before training starts.
        max_samples_per_position: cap on training samples drawn per new position (KataGo keeps <= 4).
        segment_bytes: size at which the append-only game segment files roll over.
        value_q_weight: value target = (1 - w) * outcome + w * the search's root value (0: AlphaZero's).
        sample_games_every: keep every n-th accepted game as a record (SGF, PGN, move list) in
            RUN_DIR/games (0: none).
        sample_games_keep: how many such records to keep.
        resources: Ray custom resources for the replay actor (e.g. {"node:HEAD_IP": 0.01}).
        window: which of the stored positions training samples: "fixed" (all, up to the capacity)
            or "growing" (KataGo's sub-linear window, ``learner.replay.ReplayWindow``): with N the
            positions added so far, m = window_min, alpha = window_exponent, beta = window_growth,
            clamp(m + beta * (N^alpha - m^alpha) / (alpha * m^(alpha - 1)), m, capacity).
        window_min: m, the growing window's start (positions).
        window_exponent: alpha in (0, 1], how the growth tapers (1: linear).
        window_growth: beta >= 0, the window's growth per added position at N = m.
    """

    capacity: int = 100_000
    min_positions: int = 2_000
    max_samples_per_position: float = 4.0
    segment_bytes: int = 32 << 20
    value_q_weight: float = 0.0
    sample_games_every: int = 100
    sample_games_keep: int = 50
    resources: dict[str, float] = dataclasses.field(default_factory=dict)
    window: str = "fixed"
    window_min: int = 10_000
    window_exponent: float = 0.75
    window_growth: float = 0.4

    def __post_init__(self) -> None:
        _int_in("replay.capacity", self.capacity, 1, MAX_REPLAY_CAPACITY)
        try:
            self.window_config()
        except ReplayConfigError as err:
            message = str(err)
            for field, key in _WINDOW_KEYS.items():
                message = message.replace(f"ReplayWindow.{field} ", f"replay.{key} ")
            raise ConfigError(message) from None
        _require(0.0 <= self.value_q_weight <= 1.0, "replay.value_q_weight must be in [0, 1]")
        _int_in("replay.sample_games_every", self.sample_games_every, 0, MAX_COUNT)
        _int_in("replay.sample_games_keep", self.sample_games_keep, 1, MAX_SAMPLE_GAMES_KEEP)
        _int_in("replay.min_positions", self.min_positions, 0, MAX_REPLAY_CAPACITY)
        # inf: no cap on the samples drawn per position.
        _require(self.max_samples_per_position > 0, "replay.max_samples_per_position must be > 0")
        _int_in("replay.segment_bytes", self.segment_bytes, 1 << 16, MAX_SEGMENT_BYTES)
        _resources("replay.resources", self.resources)

    def window_config(self) -> ReplayWindow:
        """The replay window these settings describe."""
        return ReplayWindow(
            kind=self.window,
            min_positions=self.window_min,
            exponent=self.window_exponent,
            growth=self.window_growth,
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunSettings:
    """The run as a whole.

    Attributes:
        minutes: stop after this many minutes of wall time (None: no limit).
        steps: stop after this many training steps (None: no limit).
        seed: seeds self-play actors (actor i uses seed + i) and the replay sampler.
        log_every_seconds: period of progress lines and metrics records.
        learner_num_cpus: CPUs Ray reserves for the learner actor. Under the samples-per-position
            cap a CPU learner often waits for games; 0 lets it share a core with self-play.
        learner_num_gpus: GPUs for the learner actor (0 on CPU machines; 1 when one is there).
        learner_resources: Ray custom resources for the learner actor.
        evaluate: rate each new checkpoint on an Elo ladder while training (see [evaluate]); the
            evaluator runs at the lowest CPU priority, on time self-play and the learner leave.
        init: a checkpoint (file, checkpoints dir or run dir) whose weights a new run starts
            from (a warm start, e.g. after ``zeroplay pretrain``): same game and network shape,
            fresh optimizer, step 0; written as the run's step-0 checkpoint, so the ladder
            rates it first. Unset: a freshly initialised network.
        init_records: record collections or replay directories (as ``zeroplay pretrain``
            takes them) whose games a new run's replay starts with; self-play's games then
            push them out of the replay window, so their share decays as the run goes on.
    """

    minutes: float | None = None
    steps: int | None = None
    seed: int = 0
    log_every_seconds: float = 10.0
    learner_num_cpus: float = 1.0
    learner_num_gpus: float = 0.0
    learner_resources: dict[str, float] = dataclasses.field(default_factory=dict)
    evaluate: bool = True
    init: str | None = None
    init_records: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # inf minutes: no time limit.
        _require(self.minutes is None or self.minutes > 0, "run.minutes must be > 0")
        if self.steps is not None:
            _int_in("run.steps", self.steps, 1, MAX_COUNT)
        _int_in("run.seed", self.seed, 0, MAX_SEED)
        _number_in("run.log_every_seconds", self.log_every_seconds, 0.0, MAX_LOG_SECONDS, low_open=True)
        _amount("run.learner_num_cpus", self.learner_num_cpus)
        _amount("run.learner_num_gpus", self.learner_num_gpus)
        _resources("run.learner_resources", self.learner_resources)
        _require(self.init is None or 0 < len(self.init) <= 4096, "run.init must be a path of 1..4096 characters")
        _require(len(self.init_records) <= 1000, "run.init_records takes at most 1000 paths")
        _require(all(0 < len(p) <= 4096 for p in self.init_records),
                 "run.init_records must be paths of 1..4096 characters")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Everything a training run needs; written to the run directory."""

    game: dict[str, Any]
    network: NetworkConfig
    search: SearchConfig
    selfplay: SelfPlaySettings
    replay: ReplaySettings
    train: TrainConfig
    evaluate: EvaluatorConfig
    run: RunSettings
    league: LeagueSettings = dataclasses.field(default_factory=LeagueSettings)

    def __post_init__(self) -> None:
        for (section, key), most in FIELD_BOUNDS.items():
            value = getattr(getattr(self, section), key)
            least = FIELD_MINIMA.get((section, key))
            if isinstance(value, int) and not (value <= most and (least is None or value >= least)):
                bound = f"at most {most}" if least is None else f"in [{least}, {most}]"
                raise ConfigError(f"{section}.{key} = {value} is out of range: {bound}")
        self.selfplay.worker_config(self.search)  # settings that depend on each other (cheap vs full budget)
        if self.network.aux_heads and not has_final_area(games.from_spec(self.game)):
            raise ConfigError(
                f"network.ownership_head / network.score_head need a game with a final area (Go), "
                f"not {self.game['name']}"
            )

    def make_game(self) -> games.Game:
        return games.from_spec(self.game)

    def to_mapping(self) -> dict[str, Any]:
        return to_mapping(self)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _int_in(name: str, value: Any, low: int, high: int) -> None:
    _require(_is_int(value) and low <= value <= high, f"{name} must be an integer in [{low}, {high}] (got {value!r})")


def _number_in(name: str, value: Any, low: float, high: float, *, low_open: bool = False) -> None:
    ok = _is_number(value) and math.isfinite(value) and (value > low if low_open else value >= low) and value <= high
    _require(ok, f"{name} must be a finite number in {'(' if low_open else '['}{_num(low)}, {_num(high)}] "
                 f"(got {value!r})")


def _num(x: float) -> str:
    """A bound as written in a message: ``600``, not ``600.0`` or ``6e+02``."""
    return str(int(x)) if float(x).is_integer() else repr(x)


def _amount(name: str, value: Any) -> None:
    """A quantity of a Ray resource: finite, in [0, MAX_RESOURCE_AMOUNT], and one Ray can count."""
    _number_in(name, value, 0.0, MAX_RESOURCE_AMOUNT)
    _require(value == 0 or value >= RESOURCE_STEP,
             f"{name} = {value!r}: Ray counts resources in steps of {RESOURCE_STEP} (use 0 or at least that)")


def _resources(name: str, resources: Any) -> None:
    """Ray custom resources ``{name: amount}``: printable names other than CPU/GPU, amounts as :func:`_amount`."""
    _require(isinstance(resources, dict), f"{name} must be a table of resource amounts (got {resources!r})")
    for key, value in resources.items():
        _require(isinstance(key, str) and 0 < len(key) <= 256 and key.isprintable(),
                 f"{name}: resource name {key!r} must be 1-256 printable characters")
        _require(key not in ("CPU", "GPU"), f"{name}.{key}: CPU and GPU are set by their own keys, not as resources")
        _amount(f"{name}.{key}", value)


def defaults(game_spec: dict[str, Any]) -> RunConfig:
    """The run configuration of a game: every field's default, then the game's preset (``cluster.config.presets``)."""
    game = games.from_spec(game_spec)
    sections = preset(game).sections
    return RunConfig(
        game=game.spec(),
        network=NetworkConfig(**sections.get("network", {})),
        search=SearchConfig(**sections.get("search", {})),
        selfplay=SelfPlaySettings(**sections.get("selfplay", {})),
        replay=ReplaySettings(**sections.get("replay", {})),
        train=TrainConfig(**sections.get("train", {})),
        evaluate=EvaluatorConfig(**sections.get("evaluate", {})),
        run=RunSettings(),
        league=LeagueSettings(),
    )


_SECTION_TYPES = {
    "network": NetworkConfig,
    "search": SearchConfig,
    "selfplay": SelfPlaySettings,
    "replay": ReplaySettings,
    "train": TrainConfig,
    "evaluate": EvaluatorConfig,
    "run": RunSettings,
    "league": LeagueSettings,
}


def apply_overrides(config: RunConfig, tables: dict[str, Any], where: str) -> RunConfig:
    """``config`` with the tables of a parsed TOML document (or flags) applied.

    A ``[game]`` table replaces the game and resets every default to that game's.
    """
    unknown = sorted(set(tables) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{where}: unknown table(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    if "game" in tables:
        game_table = tables["game"]
        if not isinstance(game_table, dict) or "name" not in game_table:
            raise ConfigError(f"{where}: [game] needs a name (one of {', '.join(games.names())})")
        try:
            game_spec = games.from_spec(dict(game_table)).spec()
        except games.GameError as err:
            raise ConfigError(f"{where}: [game]: {err}") from None
        if game_spec != config.game:
            config = defaults(game_spec)
    parts = {}
    for section, cls in _SECTION_TYPES.items():
        if section in tables:
            parts[section] = build(cls, tables[section], f"{where}: {section}", base=getattr(config, section))
    try:
        return dataclasses.replace(config, **parts)
    except ConfigError as err:  # a bound across the sections (RunConfig.__post_init__)
        raise ConfigError(f"{where}: {err}") from None


def load_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file of at most :data:`MAX_CONFIG_BYTES`; every error is one line naming the file.

    Only a regular file is opened (a FIFO in its place would block the reader).

    Raises:
        ConfigError: unreadable, not a regular file, too large, not UTF-8, not TOML, or
            nested too deeply for the parser.
    """
    path = Path(path)
    try:
        data = read_regular_file(path, max_bytes=MAX_CONFIG_BYTES)
    except UnsafeFileError as err:
        raise ConfigError(f"cannot read config: {err}") from None
    except OSError as err:
        raise ConfigError(f"cannot read config {path}: {err.strerror or err}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not valid UTF-8 (byte {err.start})") from None
    return _parse_toml(text, str(path))


def _parse_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{where}: {err}") from None
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply to be a zeroplay configuration") from None


def parse_assignment(text: str) -> tuple[str, str, Any]:
    """``section.key=value`` (value in TOML syntax; bare words are strings) -> (section, key, value)."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected section.key=value")
    name, raw = text.split("=", 1)
    if name.count(".") != 1:
        raise ConfigError(f"--set {text!r}: expected section.key=value, e.g. search.num_simulations=32")
    section, key = (part.strip() for part in name.split("."))
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    except RecursionError:
        raise ConfigError(f"--set {short_repr(text)}: nested too deeply to be a setting") from None
    return section, key, value


def resolve(
    game: str | None = None,
    game_options: dict[str, Any] | None = None,
    config_file: str | Path | None = None,
    assignments: list[str] | None = None,
    **run_flags: Any,
) -> RunConfig:
    """Defaults for the game <- the TOML file <- ``--set`` assignments <- run flags.

    ``game`` (with ``game_options``) picks the game; without it the file's ``[game]`` does,
    and without either the game is tic-tac-toe.
    """
    file_tables = load_toml(config_file) if config_file is not None else {}
    if game is not None:
        spec = {"name": game, **(game_options or {})}
    elif "game" in file_tables:
        spec = _game_table(file_tables["game"], str(config_file))
    else:
        spec = {"name": "tictactoe"}
    try:
        spec = games.from_spec(spec).spec()
    except games.GameError as err:
        raise ConfigError(str(err)) from None
    config = defaults(spec)
    if file_tables:
        file_tables = {k: v for k, v in file_tables.items() if k != "game"}
        config = apply_overrides(config, file_tables, str(config_file))
    flag_tables: dict[str, dict[str, Any]] = {}
    for text in assignments or []:
        section, key, value = parse_assignment(text)
        if section == "game":
            raise ConfigError(f"--set {text!r}: choose the game with --game/--game-options")
        flag_tables.setdefault(section, {})[key] = value
    for key, value in run_flags.items():
        if value is not None:
            section, field = key.split("__")
            flag_tables.setdefault(section, {})[field] = value
    if flag_tables:
        config = apply_overrides(config, flag_tables, "flags")
    return config


def from_mapping(tables: dict[str, Any], where: str) -> RunConfig:
    """A full configuration (as written by :func:`dump_toml`) read back."""
    if "game" not in tables:
        raise ConfigError(f"{where}: no [game] table")
    try:
        spec = games.from_spec(_game_table(tables["game"], where)).spec()
    except games.GameError as err:
        raise ConfigError(f"{where}: [game]: {err}") from None
    return apply_overrides(defaults(spec), {k: v for k, v in tables.items() if k != "game"}, where)


def _game_table(table: Any, where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [game] must be a table with a name (one of {', '.join(games.names())})")
    return dict(table)


def dump_toml(config: RunConfig) -> str:
    """TOML text of the resolved configuration (None values are left out: they mean 'unset')."""
    lines = ["# zeroplay run configuration (resolved: defaults <- file <- flags)"]
    for section, table in config.to_mapping().items():
        lines.append(f"\n[{section}]")
        nested = []
        for key, value in table.items():
            if value is None:
                continue
            if isinstance(value, dict):
                nested.append((key, value))
                continue
            lines.append(f"{key} = {_toml_value(value)}")
        for key, value in nested:
            lines.append(f"{key} = {{ {', '.join(f'{_toml_key(k)} = {_toml_value(v)}' for k, v in value.items())} }}")
    return "\n".join(lines) + "\n"


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else _toml_value(key)


def _toml_char(c: str) -> str:
    """One character of a TOML basic string: quote, backslash and control characters escaped."""
    if c in '"\\':
        return "\\" + c
    if ord(c) < 0x20 or ord(c) == 0x7F:
        return f"\\u{ord(c):04x}"
    return c


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return '"' + "".join(_toml_char(c) for c in value) + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write {value!r} to TOML")
