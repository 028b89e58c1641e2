"""Several Ray nodes on one machine (ray.cluster_utils.Cluster): actors spread, follow joins and departures."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import ray
from ray.cluster_utils import Cluster
from training_helpers import TINY_RUN, running, wait_for

from cluster.config.run import resolve
from cluster.runtime.driver import Trainer
from cluster.runtime.rundir import prepare_run_dir

pytestmark = pytest.mark.slow

# Smaller still (several simulated nodes share two cores), and actors follow the cluster.
MULTINODE = [
    "network.channels=8",
    "search.num_simulations=4",
    "selfplay.games_per_actor=8",
    "selfplay.actors=0",
    "replay.min_positions=64",
    "train.batch_size=16",
    "train.checkpoint_every=50",
]


@pytest.fixture(scope="module")
def cluster():
    if ray.is_initialized():  # the session's single-node instance; the next test that needs it restarts it
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    ray.init(address=cluster.address)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def test_actors_spread_follow_a_joining_node_and_survive_a_departing_one(cluster, tmp_path: Path) -> None:
    second = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    run_dir = tmp_path / "run"
    config = prepare_run_dir(
        run_dir, resolve("tictactoe", assignments=TINY_RUN + MULTINODE, run__minutes=4.0), resume=False
    )
    trainer = Trainer(config, run_dir, out=io.StringIO())
    assert len(trainer.actors) == 2  # 3 CPUs, one for the learner
    with running(trainer) as result:
        wait_for(lambda: len(set(trainer.actor_nodes.values())) == 2, 90, "self-play on both nodes")
        assert second.node_id in trainer.actor_nodes.values()
        wait_for(lambda: trainer.step >= 5, 90, "training to start")

        # A node joins: one more actor starts, and it plays.
        cluster.add_node(num_cpus=1)
        wait_for(lambda: len(trainer.actors) == 3, 60, "an actor for the new node")
        wait_for(lambda: len(trainer.actor_nodes) == 3, 60, "the new actor's first games")

        # A node leaves: its actor is gone, the rest play on and training continues.
        cluster.remove_node(second)
        wait_for(lambda: len(trainer.actors) == 2, 90, "the departed node's actor to be retired")
        games, step = trainer.totals.games, trainer.step
        wait_for(lambda: trainer.totals.games > games and trainer.step > step, 90, "games and steps after the loss")
        assert second.node_id not in trainer.actor_nodes.values()
    assert result["step"] > 0


def _node_of(actor) -> str:
    return ray.get(actor.__ray_call__.remote(lambda self: ray.get_runtime_context().get_node_id()))


def test_learner_and_shared_inference_go_where_the_gpu_is(cluster, tmp_path: Path) -> None:
    # The node advertises a GPU to Ray; there is no CUDA device here, so "auto" devices stay on the CPU.
    gpu_node = cluster.add_node(num_cpus=2, num_gpus=1)
    cluster.wait_for_nodes()
    shared = [
        "selfplay.inference=shared",
        "selfplay.inference_num_gpus=0.5",
        "selfplay.device=auto",
        "run.learner_num_gpus=0.5",
        "train.device=auto",
        "run.evaluate=false",
    ]
    run_dir = tmp_path / "run"
    config = prepare_run_dir(
        run_dir, resolve("tictactoe", assignments=TINY_RUN + MULTINODE + shared, run__minutes=4.0), resume=False
    )
    trainer = Trainer(config, run_dir, out=io.StringIO())
    try:
        with running(trainer) as result:
            assert _node_of(trainer.learner) == gpu_node.node_id
            assert _node_of(trainer.inference) == gpu_node.node_id
            wait_for(lambda: trainer.step >= 5 and trainer.totals.games > 0, 120, "training on shared inference")
    finally:
        cluster.remove_node(gpu_node)
    assert result["step"] >= 5
