"""Ray itself: join a cluster or start the embedded instance (loopback only, token authentication on).

:func:`connect` is what every command that runs actors calls; :func:`check_capacity`
says whether a run's actors fit the instance before any of them is started.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

from cluster.config.settings import ConfigError
from games.errors import ZeroplayError

if TYPE_CHECKING:
    from cluster.config.run import RunConfig

log = logging.getLogger(__name__)


def check_capacity(
    config: RunConfig, resources: dict[str, float], *, embedded: bool, kinds: tuple[str, ...] = ("CPU", "GPU")
) -> None:
    """Check that the run's actors fit the Ray instance's ``resources`` (its total CPUs and GPUs).

    The learner, the shared inference actor and the self-play actors (at least one)
    reserve CPUs and GPUs; a run that asks for more than there is would wait forever
    for an actor to start. On an embedded instance nothing more can join, so that is
    a :class:`ConfigError`; on a cluster it is a warning (actors start as nodes join).
    Only the resources in ``kinds`` are checked: before an embedded instance starts,
    its CPUs are known (:func:`embedded_cpus`), its GPUs only once Ray has looked.
    """
    sp, run = config.selfplay, config.run
    actors = max(sp.actors, 1)
    shared = sp.inference == "shared"
    parts = {
        "CPU": [(run.learner_num_cpus, "run.learner_num_cpus"), (float(actors), f"{actors} self-play actor(s) x 1")],
        "GPU": [
            (run.learner_num_gpus, "run.learner_num_gpus"),
            (actors * sp.num_gpus, f"{actors} self-play actor(s) x selfplay.num_gpus {sp.num_gpus:g}"),
        ],
    }
    if shared:
        parts["CPU"].append((sp.inference_num_cpus, "selfplay.inference_num_cpus"))
        parts["GPU"].append((sp.inference_num_gpus, "selfplay.inference_num_gpus"))
    for resource, items in parts.items():
        if resource not in kinds:
            continue
        needed = sum(amount for amount, _ in items)
        have = float(resources.get(resource, 0.0))
        if needed <= have + 1e-9:
            continue
        detail = ", ".join(f"{amount:g} for {name}" for amount, name in items if amount)
        message = f"the run reserves {needed:g} {resource}s ({detail}) but the Ray instance has {have:g}"
        if embedded:
            hint = (
                " (for example --set run.learner_num_cpus=0 lets the learner share a core)" if resource == "CPU" else ""
            )
            raise ConfigError(f"{message}: ask for fewer{hint}")
        log.warning("%s; the actors that do not fit wait for nodes to join", message)


#: Ray reads this variable when it is imported; "0" makes a new instance use the loopback address.
LOOPBACK_VARIABLE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


class LoopbackError(ZeroplayError, RuntimeError):
    """An embedded Ray instance that would listen beyond loopback (it is shut down again)."""


def loopback_only() -> None:
    """Make a Ray instance started from this process listen on loopback only.

    Ray resolves a node address of 127.0.0.1 to the machine's reachable address and
    binds its servers to every interface; with clustering switched off (the setting
    Ray itself uses on laptops) the node address is the loopback one and every server
    (GCS, raylet, workers, agents) binds to it. Ray reads the setting when it is
    imported, and its child processes read it from the environment; so this sets both,
    whenever Ray was imported. An inherited value that would switch it off is
    overridden with a warning: nothing listens beyond loopback unless a cluster is
    started on purpose (``ray start``, then ``--address``).
    """
    inherited = os.environ.get(LOOPBACK_VARIABLE)
    if inherited is not None and inherited.strip().lower() in ("1", "true"):
        log.warning(
            "%s=%s ignored: an embedded Ray listens on loopback only "
            "(to serve other machines, start a cluster with `ray start` and pass --address)",
            LOOPBACK_VARIABLE,
            inherited,
        )
    os.environ[LOOPBACK_VARIABLE] = "0"
    if "ray" in sys.modules:  # imported already: its constant was read with the old environment
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False


#: Ray's authentication mode variable; "token" makes every connection present ``~/.ray/auth_token``.
AUTH_MODE_VARIABLE = "RAY_AUTH_MODE"


def token_auth_on() -> None:
    """Make a Ray instance started from this process require its token (``~/.ray/auth_token``).

    Ray 2.60 turns token authentication on for a new local instance when the variable is
    unset, with a warning on every start that tells how to switch it off; set explicitly,
    the mode is the same and Ray says nothing. An inherited value that would switch it off
    is overridden with a warning of ours, as :func:`loopback_only` does for the address.
    """
    inherited = os.environ.get(AUTH_MODE_VARIABLE)
    if inherited is not None and inherited.strip().lower() != "token":
        log.warning("%s=%s ignored: an embedded Ray requires its token (~/.ray/auth_token)",
                    AUTH_MODE_VARIABLE, inherited)
    os.environ[AUTH_MODE_VARIABLE] = "token"
    if "ray._raylet" in sys.modules:  # imported already: its configuration was read with the old environment
        from ray._raylet import Config

        Config.initialize("")


def start_local_ray(num_cpus: int | None = None) -> None:
    """Start an embedded Ray instance: loopback only, token authentication on, no dashboard.

    Raises:
        LoopbackError: the instance came up on a non-loopback address anyway (it is shut down).
    """
    import ipaddress

    loopback_only()
    token_auth_on()
    import ray

    ray.init(
        address="local",
        num_cpus=embedded_cpus(num_cpus),
        include_dashboard=False,
        logging_level=logging.WARNING,
        configure_logging=True,
    )
    address = ray.util.get_node_ip_address()
    if not ipaddress.ip_address(address).is_loopback:
        ray.shutdown()
        raise LoopbackError(f"the embedded Ray instance came up on {address}, not on loopback; it was stopped")


def embedded_cpus(num_cpus: int | None = None) -> int:
    """The CPUs an embedded instance started by :func:`start_local_ray` offers."""
    return num_cpus or os.cpu_count() or 1


def will_start_embedded(address: str | None) -> bool:
    """Whether :func:`connect` with ``address`` would start an embedded instance (nothing is started)."""
    import ray

    return not ray.is_initialized() and address is None and not os.environ.get("RAY_ADDRESS")


def connect(address: str | None, num_cpus: int | None = None) -> bool:
    """Join the cluster at ``address`` or start an embedded local Ray. Returns True if we started it.

    An embedded instance requires its token (:func:`token_auth_on`; Ray writes
    ``~/.ray/auth_token`` once), binds to loopback only and starts no dashboard.
    """
    import ray

    if ray.is_initialized():
        return False
    if address is None and os.environ.get("RAY_ADDRESS"):
        address = os.environ["RAY_ADDRESS"]  # inside `ray job submit`
    if address is None:
        start_local_ray(num_cpus)
        return True
    ray.init(address=address, logging_level=logging.WARNING)
    return False
