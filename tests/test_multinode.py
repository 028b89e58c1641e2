"""Several Ray nodes on one machine (ray.cluster_utils.Cluster): actors spread, follow joins and departures."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
import ray
from ray.cluster_utils import Cluster
from training_helpers import TINY_RUN, metrics_records, running, wait_for

from cluster.config.run import resolve
from cluster.runtime.driver import Trainer
from cluster.runtime.rundir import prepare_run_dir

pytestmark = pytest.mark.slow  # each test starts a cluster of Ray nodes

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


@pytest.fixture
def add_node(cluster):
    """``cluster.add_node`` for one test: the nodes it adds and does not remove go at its end.

    A node left behind would take the next test's actors (each test counts on the head's
    two CPUs plus the nodes it adds itself).
    """
    added = []

    def add(**resources):
        node = cluster.add_node(**resources)
        added.append(node)
        return node

    yield add
    for node in added:
        if node in cluster.worker_nodes:
            cluster.remove_node(node)


def test_actors_spread_follow_a_joining_node_and_survive_a_departing_one(add_node, cluster, tmp_path: Path) -> None:
    second = add_node(num_cpus=1)
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
        add_node(num_cpus=1)
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


def test_learner_and_shared_inference_go_where_the_gpu_is(add_node, cluster, tmp_path: Path) -> None:
    # The node advertises a GPU to Ray; there is no CUDA device here, so "auto" devices stay on the CPU.
    gpu_node = add_node(num_cpus=2, num_gpus=1)
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


def _last_record(run_dir: Path) -> dict:
    records = [r for r in metrics_records(run_dir) if r.get("kind") != "evaluation"]
    return records[-1] if records else {}


def test_actors_of_a_lost_node_wait_without_spam_while_the_others_play(add_node, cluster, tmp_path: Path,
                                                                      caplog) -> None:
    # The head has room for the learner and one actor; the worker for one more.
    assert not cluster.worker_nodes, "a node another test left would take the worker's actor"
    worker = add_node(num_cpus=1)
    cluster.wait_for_nodes()
    run_dir = tmp_path / "run"
    fixed = MULTINODE + ["selfplay.actors=2", "run.evaluate=false", "run.log_every_seconds=1.0"]
    config = prepare_run_dir(run_dir, resolve("tictactoe", assignments=TINY_RUN + fixed, run__minutes=6.0),
                             resume=False)
    out = io.StringIO()
    trainer = Trainer(config, run_dir, out=out)
    with caplog.at_level(logging.WARNING, logger="cluster.runtime.driver"), running(trainer) as result:
        wait_for(lambda: worker.node_id in trainer.actor_nodes.values() and len(trainer.actor_nodes) == 2, 240,
                 "an actor on each node")
        lost = next(index for index, node in trainer.actor_nodes.items() if node == worker.node_id)
        cluster.remove_node(worker)
        wait_for(lambda: _last_record(run_dir).get("actors_waiting") == 1, 90, "the lost node's actor to wait")
        record = _last_record(run_dir)
        assert record["actors"] == 2 and record["actors_running"] == 1
        assert record["actors_waiting_for"] == "needs 1 CPU (0 free)"
        games, step = trainer.totals.games, trainer.step
        wait_for(lambda: trainer.totals.games > games + 20 and trainer.step > step, 90, "play on the head's actor")
        about_lost = [r.getMessage() for r in caplog.records if f"self-play actor {lost} " in r.getMessage()]
        # One line that it waits for resources, not a line per retry. Before it, one line that
        # its chunk failed, unless the node went while the actor was between chunks: then its
        # next chunk waits in Ray's queue for the restarted actor and never fails.
        waiting = [m for m in about_lost if "is waiting (needs 1 CPU (0 free))" in m]
        failed = [m for m in about_lost if "failed" in m]
        assert len(waiting) == 1 and len(failed) <= 1 and len(about_lost) == len(waiting) + len(failed), about_lost
        assert not any("waiting" in r.getMessage() for r in caplog.records if f"actor {1 - lost} " in r.getMessage())
        assert trainer.restarts <= 1
        assert "1 running, 1 waiting: needs 1 CPU (0 free)" in out.getvalue()

        # A node joins: the waiting actor is placed there and plays again.
        add_node(num_cpus=1)
        wait_for(lambda: _last_record(run_dir).get("actors_waiting") == 0, 150, "the actor to be placed again")
        wait_for(lambda: any(f"self-play actor {lost} plays again" in r.getMessage() for r in caplog.records), 30,
                 "the actor's next chunk right after it is placed (not after its backoff)")
    assert result["games"] > 0
