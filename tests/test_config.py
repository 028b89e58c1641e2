"""Run configuration: defaults per game <- TOML file <- flags, with typed, named errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from cluster.config.run import ConfigError, dump_toml, from_mapping, resolve


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_depend_on_the_game() -> None:
    ttt, c4 = resolve("tictactoe"), resolve("connect4")
    assert ttt.game == {"name": "tictactoe"} and c4.game == {"name": "connect4"}
    assert c4.network.channels > ttt.network.channels


def test_file_then_flags_take_precedence(tmp_path: Path) -> None:
    path = write(tmp_path, '[game]\nname = "go"\nsize = 7\n[search]\nnum_simulations = 20\n[train]\nbatch_size = 64\n')
    config = resolve(None, None, path, ["search.num_simulations=12"], run__minutes=2.0)
    assert config.game["name"] == "go" and config.game["size"] == 7
    assert config.search.num_simulations == 12  # flag beats file
    assert config.train.batch_size == 64  # file beats default
    assert config.run.minutes == 2.0


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "[train]\nbatchsize = 64\n")
    with pytest.raises(ConfigError, match=r"train\.batchsize"):
        resolve("tictactoe", config_file=path)


def test_unknown_table_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="trainer"):
        resolve("tictactoe", config_file=write(tmp_path, "[trainer]\nx = 1\n"))


def test_wrong_type_is_named() -> None:
    with pytest.raises(ConfigError, match=r"search\.num_simulations = 'many'"):
        resolve("tictactoe", assignments=["search.num_simulations=many"])
    with pytest.raises(ConfigError, match="selfplay.games_per_actor"):
        resolve("tictactoe", assignments=["selfplay.games_per_actor=0"])


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[train\n")
    with pytest.raises(ConfigError, match="run.toml"):
        resolve("tictactoe", config_file=path)


def test_unknown_game_option() -> None:
    with pytest.raises(ConfigError, match="go"):
        resolve("go", {"sise": 9})


def test_resolved_config_round_trips_through_toml() -> None:
    config = resolve("go", {"size": 9, "komi": 6.5}, assignments=["selfplay.resources={selfplay=1}"])
    again = from_mapping(tomllib.loads(dump_toml(config)), "dumped")
    assert again == config


def test_selfplay_inference_mode_and_device_are_checked() -> None:
    assert resolve("connect4", assignments=["selfplay.inference=shared"]).selfplay.inference == "shared"
    with pytest.raises(ConfigError, match=r"selfplay.inference must be one of local, shared \(got 'pooled'\)"):
        resolve("connect4", assignments=["selfplay.inference=pooled"])
    with pytest.raises(ConfigError, match=r"selfplay.device must be cpu, cuda, cuda:N or auto \(got 'gpu'\)"):
        resolve("connect4", assignments=["selfplay.device=gpu"])


def test_a_run_that_cannot_fit_the_embedded_ray_is_refused_naming_what_it_reserves(caplog) -> None:
    from cluster.runtime.ray_setup import check_capacity

    two_cpus = {"CPU": 2.0}
    check_capacity(resolve("tictactoe"), two_cpus, embedded=True)  # the defaults: learner + 1 actor
    shared = resolve("tictactoe", assignments=["selfplay.inference=shared"])
    with pytest.raises(ConfigError, match=r"reserves 3 CPUs \(1 for run.learner_num_cpus, 1 for 1 self-play "
                                          r"actor\(s\) x 1, 1 for selfplay.inference_num_cpus\) but the Ray "
                                          r"instance has 2: ask for fewer \(for example --set run.learner_num_cpus=0"):
        check_capacity(shared, two_cpus, embedded=True)
    check_capacity(resolve("tictactoe", assignments=["selfplay.inference=shared", "run.learner_num_cpus=0"]),
                   two_cpus, embedded=True)
    with pytest.raises(ConfigError, match=r"reserves 1 GPUs \(1 for run.learner_num_gpus\) but the Ray instance has 0"):
        check_capacity(resolve("tictactoe", assignments=["run.learner_num_gpus=1"]), two_cpus, embedded=True)
    # On a cluster more nodes may join: a warning, and the run goes on.
    with caplog.at_level("WARNING", logger="cluster.runtime.driver"):
        check_capacity(shared, two_cpus, embedded=False)
    assert "wait for nodes to join" in caplog.text


def test_presets_give_each_game_its_network_and_a_general_fallback() -> None:
    import games
    from cluster.config.presets import network_config
    from learner.network import NetworkConfig

    assert network_config(games.make("tictactoe")) == NetworkConfig(blocks=2, channels=32, value_hidden=32)
    assert network_config(games.make("go", size=9)).channels == 48
    assert network_config(games.make("go", size=13)).channels == 96
    assert network_config(games.make("chess")).policy_channels == 8
    assert network_config(games.make("tictactoe"), blocks=1).blocks == 1
    assert resolve("connect4").network == network_config(games.make("connect4"))


def test_value_head_is_a_network_key_written_to_the_run_config() -> None:
    assert resolve("connect4").network.value_head == "scalar"
    config = resolve("connect4", assignments=["network.value_head=wdl"])
    assert config.network.value_head == "wdl"
    text = dump_toml(config)
    assert 'value_head = "wdl"' in text and tomllib.loads(text)["network"]["value_head"] == "wdl"
    assert from_mapping(tomllib.loads(text), "dumped").network.value_head == "wdl"
    with pytest.raises(ConfigError, match=r"network.*value_head must be one of scalar, wdl, got 'tanh'"):
        resolve("connect4", assignments=["network.value_head=tanh"])


def test_replay_window_keys_are_written_and_checked() -> None:
    from learner.replay import ReplayWindow

    config = resolve("connect4")
    assert (config.replay.window, config.replay.window_min) == ("fixed", 10_000)
    assert (config.replay.window_exponent, config.replay.window_growth) == (0.75, 0.4)
    tables = tomllib.loads(dump_toml(config))
    assert {k: tables["replay"][k] for k in ("window", "window_min", "window_exponent", "window_growth")} == {
        "window": "fixed", "window_min": 10_000, "window_exponent": 0.75, "window_growth": 0.4,
    }
    assert "weight_decay" in tables["train"] and tables["train"]["weight_decay"] == config.train.weight_decay
    growing = resolve("connect4", assignments=["replay.window=growing", "replay.window_min=5000"])
    assert growing.replay.window_config() == ReplayWindow(kind="growing", min_positions=5000)
    assert from_mapping(tomllib.loads(dump_toml(growing)), "dumped") == growing
    for text, message in (
        ("replay.window=sliding", r"replay.window must be one of fixed, growing, got 'sliding'"),
        ("replay.window_min=0", r"replay.window_min must be an int >= 1, got 0"),
        ("replay.window_exponent=1.5", r"replay.window_exponent must be in \(0, 1\], got 1.5"),
        ("replay.window_growth=-1", r"replay.window_growth must be in \[0, inf\), got -1.0"),
    ):
        with pytest.raises(ConfigError, match=message):
            resolve("connect4", assignments=[text])


def test_go_heads_pooling_and_their_weights_are_keys_written_to_the_run_config() -> None:
    default = resolve("go", {"size": 9})
    assert (default.network.global_pooling, default.network.ownership_head, default.network.score_head) == (
        False, False, False,
    )
    assert (default.train.ownership_weight, default.train.score_weight) == (1.5, 1.0)
    config = resolve("go", {"size": 9}, assignments=[
        "network.global_pooling=true", "network.ownership_head=true", "network.score_head=true",
        "train.ownership_weight=1.0", "train.score_weight=0.5",
    ])
    assert config.network.global_pooling and config.network.ownership_head and config.network.score_head
    assert (config.train.ownership_weight, config.train.score_weight) == (1.0, 0.5)
    tables = tomllib.loads(dump_toml(config))
    assert tables["network"]["ownership_head"] is True and tables["train"]["score_weight"] == 0.5
    assert from_mapping(tables, "dumped") == config
    with pytest.raises(ConfigError, match=r"network\.global_pooling = 'yes' is not a valid bool"):
        resolve("go", assignments=["network.global_pooling=yes"])
    with pytest.raises(ConfigError, match=r"train.*ownership_weight"):
        resolve("go", assignments=["train.ownership_weight=-1"])


def test_rich_go_features_are_a_game_key_and_not_the_default() -> None:
    from cluster.config.presets import network_config

    assert resolve("go", {"size": 9}).make_game().features == "stones"
    rich = resolve("go", {"size": 9, "features": "rich"})
    assert rich.game["features"] == "rich" and rich.make_game().observation_shape == (18, 9, 9)
    assert rich.network == resolve("go", {"size": 9}).network == network_config(rich.make_game())
    assert from_mapping(tomllib.loads(dump_toml(rich)), "dumped") == rich


# ----------------------------------------------------------------------------- bounds
GIB = 1 << 30


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("network.channels=1000000000", r"network\.channels = 1000000000 is out of range: at most 4096"),
        ("network.blocks=1000000", r"network\.blocks = 1000000 is out of range: at most 256"),
        ("network.value_hidden=100000", r"network\.value_hidden = 100000 is out of range: at most 4096"),
        ("search.num_simulations=500000", r"search\.num_simulations = 500000 is out of range: at most 100000"),
        ("search.num_simulations=1000000000", r"num_simulations.*1000000000"),
        ("train.batch_size=1000000000", r"train\.batch_size = 1000000000 is out of range: at most 65536"),
        ("selfplay.games_per_actor=1000000000", r"selfplay\.games_per_actor must be an integer in \[1, 65536\]"),
        ("selfplay.actors=100000", r"selfplay\.actors must be an integer in \[0, 10000\]"),
        ("selfplay.chunk_seconds=inf", r"selfplay\.chunk_seconds must be a finite number in \(0, 600\] \(got inf\)"),
        ("selfplay.chunk_seconds=nan", r"selfplay\.chunk_seconds must be a finite number in \(0, 600\] \(got nan\)"),
        ("selfplay.torch_threads=100000", r"selfplay\.torch_threads must be an integer in \[1, 1024\]"),
        ("selfplay.num_gpus=inf", r"selfplay\.num_gpus must be a finite number in \[0, 1000000\]"),
        ("selfplay.resources={x=nan}", r"selfplay\.resources\.x must be a finite number in \[0, 1000000\] \(got nan\)"),
        ("selfplay.resources={x=-1}", r"selfplay\.resources\.x must be a finite number in \[0, 1000000\] \(got -1"),
        ('selfplay.resources={x="a"}', r"selfplay\.resources\.x = 'a' is not a valid float"),
        ("selfplay.resources={CPU=1}", r"selfplay\.resources\.CPU: CPU and GPU are set by their own keys"),
        ("selfplay.resources={x=0.00001}", r"selfplay\.resources\.x = 1e-05: Ray counts resources in steps of 0\.0001"),
        ("selfplay.inference_max_batch=100000000",
         r"selfplay\.inference_max_batch must be an integer in \[1, 1048576\]"),
        ("replay.capacity=10000000000000", r"replay\.capacity must be an integer in \[1, 1099511627776\]"),
        ("replay.segment_bytes=100000000000", r"replay\.segment_bytes must be an integer in \[65536, 1073741824\]"),
        ("run.seed=-1", r"run\.seed must be an integer in \[0, 9223372036854775807\]"),
        ("run.steps=100000000000000000000", r"run\.steps must be an integer in \[1, 4611686018427387904\]"),
        ("run.log_every_seconds=inf", r"run\.log_every_seconds must be a finite number in \(0, 3600\]"),
        ("run.learner_num_cpus=nan", r"run\.learner_num_cpus must be a finite number in \[0, 1000000\]"),
        ("run.learner_resources={x=inf}", r"run\.learner_resources\.x must be a finite number"),
        ("replay.resources={y=-0.5}", r"replay\.resources\.y must be a finite number"),
    ],
)
def test_sizes_beyond_what_can_work_are_refused_naming_the_key_and_the_bound(assignment: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve("tictactoe", assignments=[assignment])


def test_sizes_at_their_bounds_are_accepted() -> None:
    config = resolve("tictactoe", assignments=[
        "network.channels=4096", "network.blocks=256", "search.num_simulations=100000", "train.batch_size=65536",
        "selfplay.games_per_actor=65536", "selfplay.chunk_seconds=600", "selfplay.resources={x=0.0001, y=3}",
        "selfplay.num_gpus=0.25", "run.learner_num_gpus=2", "replay.max_samples_per_position=inf",
        "run.minutes=inf",
    ])
    assert config.network.channels == 4096 and config.selfplay.resources == {"x": 0.0001, "y": 3.0}


def test_a_bound_also_holds_for_a_stored_configuration() -> None:
    config = resolve("tictactoe")
    text = dump_toml(config).replace("channels = 32", "channels = 5000")
    with pytest.raises(ConfigError, match=r"stored: .*network\.channels = 5000 is out of range"):
        from_mapping(tomllib.loads(text), "stored")


def test_memory_estimates_follow_the_arrays_the_run_allocates() -> None:
    import games
    from cluster.config.resources import network_parameters, replay_position_bytes
    from learner.network import PolicyValueNet
    from learner.replay import ReplayBuffer

    for config in (resolve("tictactoe"), resolve("go", {"size": 9}), resolve("chess")):
        game = config.make_game()
        assert network_parameters(game, config.network) == PolicyValueNet(game, config.network).num_parameters()
        buffer = ReplayBuffer(game, 10, min_positions=1)
        arrays = [buffer._obs, buffer._masks, buffer._policies, buffer._values, buffer._versions]
        if buffer.has_area_targets:
            arrays += [buffer._ownership, buffer._scores, buffer._area_mask]
        allocated = sum(a.nbytes for a in arrays)
        assert replay_position_bytes(game) * 10 == allocated
    assert games.make("tictactoe")  # the estimates never build the large objects themselves


def test_what_does_not_fit_the_machines_memory_is_refused_with_the_estimate() -> None:
    from cluster.config.resources import Machine, validate_resources

    machine = Machine(memory_bytes=8 * GIB, cpus=2)
    for game in ("tictactoe", "connect4", "go"):
        validate_resources(resolve(game), machine)  # the defaults fit a small machine
    replay = (r"replay\.capacity = 1000000000000 needs about .* TiB for the replay buffer \(1000000000000 positions "
              r"x 111 bytes: observation 54, legal mask and policy 45, value and version 12\), more than this "
              r"machine's 8\.0 GiB of memory; at most about 77,386,798 positions fit")
    with pytest.raises(ConfigError, match=replay):
        validate_resources(resolve("tictactoe", assignments=["replay.capacity=1000000000000"]), machine)
    with pytest.raises(ConfigError, match=r"network\.blocks = 256 x network\.channels = 4096 .* parameters.*"
                                          r"more than this machine's 8\.0 GiB"):
        validate_resources(resolve("tictactoe", assignments=["network.blocks=256", "network.channels=4096"]), machine)
    with pytest.raises(ConfigError, match=r"selfplay\.games_per_actor = 65536 x search\.num_simulations = 100000: "
                                          r"each self-play actor's search arena needs about .* TiB"):
        validate_resources(resolve("go", {"size": 19}, assignments=[
            "selfplay.games_per_actor=65536", "search.num_simulations=100000"]), machine)
    with pytest.raises(ConfigError, match=r"train\.batch_size = 65536 .* activations"):
        validate_resources(resolve("go", {"size": 19}, assignments=[
            "train.batch_size=65536", "network.channels=512", "network.blocks=20"]), machine)
    # Each part fits, but not all of them together on one machine (an embedded instance).
    crowded = resolve("go", {"size": 19}, assignments=[
        "selfplay.games_per_actor=4096", "search.num_simulations=800", "selfplay.actors=2"])
    validate_resources(crowded, Machine(memory_bytes=6 * GIB, cpus=2), embedded=False)
    with pytest.raises(ConfigError, match=r"the run needs about .* of memory on this machine \(replay buffer "
                                          r".*, learner .*, 2 self-play actor\(s\) x .*\) but it has 6\.0 GiB"):
        validate_resources(crowded, Machine(memory_bytes=6 * GIB, cpus=2))


def test_the_machine_is_measured() -> None:
    import os

    from cluster.config.resources import Machine

    machine = Machine.detect()
    assert machine.cpus == os.cpu_count()
    assert 64 << 20 <= machine.memory_bytes <= os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _refused_before_ray(tmp_path: Path, *args: str) -> str:
    """Run ``zeroplay train ARGS``; it must fail with one line and without having started Ray."""
    from zeroplay_command import run_zeroplay

    ray_tmp = tmp_path / "ray-tmp"
    result = run_zeroplay("train", "--game", "tictactoe", "--run-dir", str(tmp_path / "run"), *args,
                          env={"RAY_TMPDIR": str(ray_tmp)}, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zeroplay: error: "), result.stderr[-2000:]
    assert not ray_tmp.exists(), "Ray was started before the run was refused"
    assert not (tmp_path / "run").exists()
    return lines[0]


@pytest.mark.slow
def test_the_command_refuses_more_actors_than_cpus_before_ray_starts(tmp_path: Path) -> None:
    line = _refused_before_ray(tmp_path, "--set", "selfplay.actors=1000")
    assert "reserves 1001 CPUs" in line and "ask for fewer" in line


@pytest.mark.slow
def test_the_command_refuses_a_replay_buffer_beyond_memory_before_ray_starts(tmp_path: Path) -> None:
    line = _refused_before_ray(tmp_path, "--set", "replay.capacity=1000000000000")
    assert "replay.capacity = 1000000000000 needs about" in line and "of memory" in line


# ----------------------------------------------------------------------------- damaged --config files
def test_a_config_file_that_cannot_be_read_is_one_error_naming_it(tmp_path: Path) -> None:
    import os

    from cluster.config.run import MAX_CONFIG_BYTES, load_toml

    bad_utf8 = tmp_path / "bad.toml"
    bad_utf8.write_bytes(b'[train]\nbatch_size = 64 # \xff\xfe\n')
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid UTF-8 \(byte 26\)"):
        load_toml(bad_utf8)
    with pytest.raises(ConfigError, match=rf"cannot read config: {tmp_path} is a directory"):
        load_toml(tmp_path)
    huge = tmp_path / "huge.toml"
    huge.write_bytes(b"# " + b"x" * MAX_CONFIG_BYTES + b"\n")
    with pytest.raises(ConfigError, match=rf"cannot read config: .*huge\.toml is larger than {MAX_CONFIG_BYTES} bytes"):
        load_toml(huge)
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match=r"fifo\.toml is a FIFO"):
        load_toml(fifo)  # refused, never opened (it would wait for a writer)
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ConfigError, match=r"deep\.toml: nested too deeply"):
        load_toml(deep)
    deep.write_text("x = " + "{a = " * 50_000 + "1" + "}" * 50_000 + "\n")
    with pytest.raises(ConfigError, match=r"deep\.toml: nested too deeply"):
        load_toml(deep)


def test_a_set_value_nested_too_deeply_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"--set 'search\.num_simulations=\[\[\[.*nested too deeply"):
        resolve("tictactoe", assignments=["search.num_simulations=" + "[" * 100_000 + "]" * 100_000])


@pytest.mark.slow
def test_the_command_names_a_config_file_it_cannot_read(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\n")
    line = _refused_before_ray(tmp_path, "--config", str(bad))
    assert line == f"zeroplay: error: {bad}: not valid UTF-8 (byte 0)"


def test_any_string_of_a_config_is_written_as_toml_that_reads_back() -> None:
    config = resolve("tictactoe", assignments=['train.device="cuda:\\u0007x"', 'evaluate.anchors=["a\\u007f\\"\\\\"]'])
    assert config.train.device == "cuda:\x07x" and config.evaluate.anchors == ('a\x7f"\\',)
    assert from_mapping(tomllib.loads(dump_toml(config)), "dumped") == config
    with pytest.raises(ConfigError, match=r"selfplay\.device must be cpu, cuda, cuda:N or auto \(got 'cuda:\\n'\)"):
        resolve("tictactoe", assignments=['selfplay.device="cuda:\\n"'])


def test_go_heads_on_a_game_without_a_final_area_are_refused_when_the_run_is_configured() -> None:
    for head in ("ownership_head", "score_head"):
        with pytest.raises(ConfigError, match=r"ownership_head / network.score_head need .*Go.*not connect4"):
            resolve("connect4", assignments=[f"network.{head}=true"])
    assert resolve("go", {"size": 9}, assignments=["network.ownership_head=true"]).network.ownership_head
