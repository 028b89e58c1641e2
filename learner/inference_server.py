"""One network serving many self-play workers: leaves from all of them in one forward pass.

:class:`InferenceServer` is the shared alternative to a model copy per self-play
actor. Clients call :meth:`InferenceServer.evaluate` concurrently (it is a
coroutine; ``cluster/`` runs the server as an async Ray actor); requests that
arrive while a forward pass runs are queued, and the next pass takes all queued
requests of one weights version at once, up to ``max_batch`` positions
(continuous batching: no timer, the batch is whatever arrived during the last pass).

Every request names the ``weights_version`` it wants, so a search never mixes two
networks: the server keeps the newest ``keep_versions`` versions, and a request for
one it does not hold raises :class:`WeightsVersionError` (the client fetches the
weights with :meth:`InferenceServer.load_weights` and asks again).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import dataclasses
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from games.base import Game
from games.errors import ZeroplayError
from learner.backends import check_backend_name
from learner.inference import TorchEvaluator
from learner.network import NetworkConfig, PolicyValueNet


class WeightsVersionError(ZeroplayError, LookupError):
    """A request for a weights version the inference server does not hold."""


@dataclasses.dataclass
class _Request:
    observations: np.ndarray  # [b, C, H, W] float32
    legal_masks: np.ndarray  # [b, A] bool
    future: asyncio.Future


@dataclasses.dataclass(frozen=True)
class InferenceStats:
    """Counters since the server started (a snapshot).

    Attributes:
        requests: evaluate calls served.
        positions: positions evaluated.
        batches: forward passes run.
        forward_seconds: wall time inside forward passes.
        versions: weights versions held, oldest first.
    """

    requests: int
    positions: int
    batches: int
    forward_seconds: float
    versions: tuple[int, ...]

    @property
    def mean_batch(self) -> float:
        """Mean positions per forward pass."""
        return self.positions / self.batches if self.batches else 0.0


class InferenceServer:
    """A policy-value network for ``game`` evaluating batches merged from many clients.

    Args:
        game: the game (sizes the network and checks request shapes).
        network: the network architecture (must match the weights loaded).
        device: torch device of the forward passes ("cpu", "cuda", "cuda:N").
        num_threads: torch intra-op threads (process-wide); ``None`` leaves the setting.
        max_batch: most positions in one forward pass (a request is never split, so a
            single request larger than this runs alone).
        keep_versions: weights versions held at once (>= 1).
        backend: how the forward passes run (``learner.backends``; "eager" by default).
            Each new version reuses what the backend built for the first one (ONNX
            Runtime's exported graph), so a weights load never re-exports.
    """

    def __init__(
        self,
        game: Game,
        network: NetworkConfig,
        *,
        device: str = "cpu",
        num_threads: int | None = None,
        max_batch: int = 4096,
        keep_versions: int = 2,
        backend: str = "eager",
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        if keep_versions < 1:
            raise ValueError(f"keep_versions must be >= 1, got {keep_versions}")
        self.game = game
        self.network = network
        self.device = device
        self.num_threads = num_threads
        self.max_batch = int(max_batch)
        self.keep_versions = int(keep_versions)
        self.backend = check_backend_name(backend)
        # version -> evaluator, oldest first; touched only on the executor thread or under the loop.
        self._models: collections.OrderedDict[int, TorchEvaluator] = collections.OrderedDict()
        self._queues: collections.OrderedDict[int, list[_Request]] = collections.OrderedDict()
        self._loading: dict[int, asyncio.Future] = {}  # version -> its load in progress
        # One thread runs every forward pass and weights load, so the event loop keeps
        # taking requests (the next batch forms) while the network runs.
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="zeroplay-inference")
        self._wakeup: asyncio.Event | None = None
        self._serving: asyncio.Task | None = None
        self._requests = 0
        self._positions = 0
        self._batches = 0
        self._forward_seconds = 0.0

    # ------------------------------------------------------------------ weights
    def versions(self) -> tuple[int, ...]:
        """Weights versions held, oldest first."""
        return tuple(self._models)

    async def load_weights(self, version: int, state_dict: Mapping[str, Any]) -> bool:
        """Hold weights ``version`` (a state dict of tensors or numpy arrays).

        Returns False when that version was already held (nothing loaded). The oldest
        version beyond ``keep_versions`` is dropped; its queued requests fail with
        :class:`WeightsVersionError`.
        """
        version = int(version)
        if version in self._models:
            return False
        if version in self._loading:  # another client is loading it: wait for that load
            await asyncio.shield(self._loading[version])
            return False
        loop = asyncio.get_running_loop()
        template = next(reversed(self._models.values()), None)  # picked here, on the loop
        loading = loop.run_in_executor(self._executor, self._build, version, dict(state_dict), template)
        self._loading[version] = loading
        try:
            evaluator = await asyncio.shield(loading)
        finally:
            del self._loading[version]
        self._models[version] = evaluator
        self._models = collections.OrderedDict(sorted(self._models.items()))
        while len(self._models) > self.keep_versions:
            dropped, _ = self._models.popitem(last=False)
            for request in self._queues.pop(dropped, []):
                if not request.future.done():
                    request.future.set_exception(self._missing(dropped))
        return True

    def _build(
        self, version: int, state_dict: dict[str, Any], template: TorchEvaluator | None
    ) -> TorchEvaluator:
        if template is not None:  # a held version's backend with new weights (forward passes share this thread)
            return template.with_weights(state_dict, version)
        evaluator = TorchEvaluator(
            PolicyValueNet(self.game, self.network), self.device, num_threads=self.num_threads, backend=self.backend
        )
        evaluator.load_weights(state_dict, version)
        return evaluator

    def _missing(self, version: int) -> WeightsVersionError:
        held = ", ".join(map(str, self._models)) or "none"
        return WeightsVersionError(f"inference server holds no weights version {version} (held: {held})")

    # ------------------------------------------------------------------ serving
    async def evaluate(
        self, weights_version: int, observations: np.ndarray, legal_masks: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(policy_logits [b, A] float32, values [b] float32)`` for one client's batch.

        Args:
            weights_version: the version to evaluate with (must be held).
            observations: [b, C, H, W] float32 positions from the mover's view.
            legal_masks: [b, A] bool.
        """
        weights_version = int(weights_version)
        if weights_version not in self._models:
            raise self._missing(weights_version)
        shape = tuple(self.game.observation_shape)
        if observations.ndim != 4 or tuple(observations.shape[1:]) != shape:
            raise ValueError(f"observations must be [b, {', '.join(map(str, shape))}], got {list(observations.shape)}")
        if legal_masks.shape != (observations.shape[0], self.game.num_actions):
            raise ValueError(
                f"legal_masks must be [{observations.shape[0]}, {self.game.num_actions}], got {list(legal_masks.shape)}"
            )
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queues.setdefault(weights_version, []).append(_Request(observations, legal_masks, future))
        if self._serving is None or self._serving.done():
            self._wakeup = asyncio.Event()
            self._serving = loop.create_task(self._serve())
        assert self._wakeup is not None
        self._wakeup.set()
        return await future

    async def _serve(self) -> None:
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while any(self._queues.values()):
                version, requests = self._take()
                evaluator = self._models.get(version)
                if evaluator is None:
                    for request in requests:
                        request.future.set_exception(self._missing(version))
                    continue
                try:
                    logits, values, seconds = await loop.run_in_executor(
                        self._executor, self._forward, evaluator, requests
                    )
                except Exception as err:  # noqa: BLE001 - every waiting client gets the error
                    for request in requests:
                        if not request.future.done():
                            request.future.set_exception(err)
                    continue
                self._requests += len(requests)
                self._positions += len(values)
                self._batches += 1
                self._forward_seconds += seconds
                start = 0
                for request in requests:
                    end = start + len(request.legal_masks)
                    if not request.future.done():  # a client that went away
                        request.future.set_result((logits[start:end], values[start:end]))
                    start = end

    def _take(self) -> tuple[int, list[_Request]]:
        """The oldest version's queued requests, up to ``max_batch`` positions (at least one request)."""
        version = next(v for v, q in self._queues.items() if q)
        queue = self._queues[version]
        taken = [queue.pop(0)]
        size = len(taken[0].legal_masks)
        while queue and size + len(queue[0].legal_masks) <= self.max_batch:
            size += len(queue[0].legal_masks)
            taken.append(queue.pop(0))
        if not queue:
            del self._queues[version]
        return version, taken

    @staticmethod
    def _forward(evaluator: TorchEvaluator, requests: list[_Request]) -> tuple[np.ndarray, np.ndarray, float]:
        start = time.perf_counter()
        if len(requests) == 1:
            observations, legal_masks = requests[0].observations, requests[0].legal_masks
        else:
            observations = np.concatenate([r.observations for r in requests])
            legal_masks = np.concatenate([r.legal_masks for r in requests])
        logits, values = evaluator.evaluate(observations, legal_masks)
        return logits, values, time.perf_counter() - start

    def stats(self) -> InferenceStats:
        return InferenceStats(
            requests=self._requests,
            positions=self._positions,
            batches=self._batches,
            forward_seconds=self._forward_seconds,
            versions=self.versions(),
        )


__all__ = ["InferenceServer", "InferenceStats", "WeightsVersionError"]
