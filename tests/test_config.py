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
