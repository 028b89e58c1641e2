"""Inference backends: the same network run by eager torch, TorchScript, torch.compile or ONNX Runtime.

A backend turns an eval-mode module whose ``forward(observations, legal_masks)``
returns a tuple of tensors (``(policy_logits [B, A], value [B])`` for
:class:`learner.network.PolicyValueNet`; nothing here depends on the number or the
shapes of the outputs beyond a leading batch dimension) into a :class:`Runner`:
``runner(observations [B, C, H, W] float32, legal_masks [B, A] bool) -> tuple of
numpy arrays``, for any ``B >= 1`` without rebuilding. The module stays the owner of
the weights: after its state dict changed in place, :meth:`Runner.reload` makes the
runner follow. Only eager mode, channels-last and torch.compile read the module's
parameters at every call; the others hold what they read at the build or the last
reload (``TorchEvaluator.load_weights`` reloads).

Backends (``BACKENDS``):

* ``"eager"``: the module itself (``torch.inference_mode``; bf16 autocast and
  channels-last on CUDA, as before).
* ``"channels_last"``: eager with the module and the inputs in channels-last memory.
* ``"jit"``: ``torch.jit.trace`` + ``torch.jit.freeze`` + ``optimize_for_inference``
  (BatchNorm folded into the convolutions). Frozen weights are constants, so a reload
  re-traces (lazily, at the next call).
* ``"compile"`` / ``"compile:MODE"``: ``torch.compile(module, dynamic=True, mode=MODE)``.
  The weights stay graph inputs, so a reload costs nothing and never recompiles; the
  first call compiles (tens of seconds on a busy 2-core machine).
* ``"onnxruntime"`` (CPU only; needs the optional ``onnx`` and ``onnxruntime`` packages):
  the module exported once to ONNX with a dynamic batch axis, its weights kept apart as
  external initializers; a reload hands the new weights to a fresh session (tens of ms,
  ORT folds BatchNorm and pre-packs the convolutions), never re-exports.
* ``"auto"``: the fastest that builds on the device: on the CPU ``onnxruntime``, else
  ``jit``, else ``eager``; on CUDA ``eager`` (bf16 autocast).

Every runner is checked against eager mode when it is built and after every reload,
on a small probe batch (max abs difference at legal moves and on the other outputs
within ``1e-4`` plus ``1e-4`` relative); a backend that is unavailable, fails to build
or disagrees logs one warning line and the runner falls back to eager mode.
"""

from __future__ import annotations

import copy
import io
import logging
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from learner.config import BACKENDS, COMPILE_MODES, check_backend_name
from learner.device import autocast

log = logging.getLogger(__name__)

#: The order "auto" tries on each device type.
AUTO_ORDER = {"cpu": ("onnxruntime", "jit", "eager"), "cuda": ("eager",)}
#: Agreement with eager mode a runner must keep (absolute, plus this much relative).
TOLERANCE = 1e-4
_PROBE_BATCH = 3


class BackendUnavailable(RuntimeError):
    """A backend that cannot run here (a missing package, a device it does not support)."""


def _inputs(observations: np.ndarray, legal_masks: np.ndarray, device: torch.device) -> tuple[torch.Tensor, ...]:
    obs = torch.from_numpy(observations)
    masks = torch.from_numpy(legal_masks)
    if device.type != "cpu":
        obs = obs.to(device, non_blocking=True)
        masks = masks.to(device, non_blocking=True)
    return obs, masks


def _numpy(outputs: Any) -> tuple[np.ndarray, ...]:
    if isinstance(outputs, torch.Tensor):
        outputs = (outputs,)
    return tuple(out.float().cpu().numpy() for out in outputs)


class Runner:
    """Runs ``module`` (its outputs as numpy); subclasses change how. This one is eager mode.

    Attributes:
        name: the backend this runner implements.
        build_seconds: wall time of the build (the first compilation included, where any).
    """

    name = "eager"

    def __init__(self, module: torch.nn.Module, device: torch.device, num_threads: int) -> None:
        self.module = module
        self.device = device
        self.num_threads = num_threads
        self.build_seconds = 0.0

    def __call__(self, observations: np.ndarray, legal_masks: np.ndarray) -> tuple[np.ndarray, ...]:
        with torch.inference_mode(), autocast(self.device):
            return _numpy(self.module(*_inputs(observations, legal_masks, self.device)))

    def reload(self) -> None:
        """Follow the module's weights after they changed in place."""

    def spawn(self, module: torch.nn.Module) -> Runner:
        """A runner of this backend for ``module``, a network of the same architecture.

        Reuses whatever does not depend on the weights (the ONNX graph, for one).
        """
        return type(self)(module, self.device, self.num_threads)


class ChannelsLastRunner(Runner):
    name = "channels_last"

    def __init__(self, module: torch.nn.Module, device: torch.device, num_threads: int) -> None:
        super().__init__(module.to(memory_format=torch.channels_last), device, num_threads)

    def __call__(self, observations: np.ndarray, legal_masks: np.ndarray) -> tuple[np.ndarray, ...]:
        obs, masks = _inputs(observations, legal_masks, self.device)
        with torch.inference_mode(), autocast(self.device):
            return _numpy(self.module(obs.contiguous(memory_format=torch.channels_last), masks))

    def reload(self) -> None:  # load_state_dict copies into the channels-last parameters, but be sure
        self.module.to(memory_format=torch.channels_last)


class JitRunner(Runner):
    """A frozen TorchScript trace; re-traced at the first call after a reload."""

    name = "jit"

    def __init__(self, module: torch.nn.Module, device: torch.device, num_threads: int) -> None:
        super().__init__(module, device, num_threads)
        self._traced: Any = None
        self._trace()

    def _trace(self) -> None:
        example = _example_inputs(self.module, batch=_PROBE_BATCH, device=self.device)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(self.module, example, check_trace=False)
            self._traced = torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))

    def __call__(self, observations: np.ndarray, legal_masks: np.ndarray) -> tuple[np.ndarray, ...]:
        if self._traced is None:
            self._trace()
        with torch.no_grad(), autocast(self.device):
            return _numpy(self._traced(*_inputs(observations, legal_masks, self.device)))

    def reload(self) -> None:
        self._traced = None


class CompileRunner(Runner):
    """``torch.compile`` with dynamic batch sizes; weights are graph inputs, so reloads are free."""

    name = "compile"

    def __init__(
        self, module: torch.nn.Module, device: torch.device, num_threads: int, mode: str = "default"
    ) -> None:
        super().__init__(module, device, num_threads)
        self.mode = mode
        self.name = "compile" if mode == "default" else f"compile:{mode}"
        self._compiled = torch.compile(module, mode=None if mode == "default" else mode, dynamic=True)

    def __call__(self, observations: np.ndarray, legal_masks: np.ndarray) -> tuple[np.ndarray, ...]:
        with torch.inference_mode(), autocast(self.device):
            return _numpy(self._compiled(*_inputs(observations, legal_masks, self.device)))

    def spawn(self, module: torch.nn.Module) -> Runner:
        return CompileRunner(module, self.device, self.num_threads, self.mode)


class OnnxRuntimeRunner(Runner):
    """The module exported once to ONNX; each set of weights gets its own ORT session."""

    name = "onnxruntime"

    def __init__(
        self, module: torch.nn.Module, device: torch.device, num_threads: int, graph: _OnnxGraph | None = None
    ) -> None:
        if device.type != "cpu":
            raise BackendUnavailable(f"the onnxruntime backend runs on the CPU only, not on {device}")
        super().__init__(module, device, num_threads)
        self._ort = _import_onnxruntime()
        self.graph = graph if graph is not None else _OnnxGraph.export(module)
        self._session: Any = None
        self._weights: list[Any] = []  # the OrtValues the session reads (it does not copy them)
        self.reload()

    def reload(self) -> None:
        ort = self._ort
        state = self.module.state_dict()
        arrays = []
        for name, shape in self.graph.initializers:
            if name not in state or tuple(state[name].shape) != shape:
                raise ValueError(f"weights do not fit the exported ONNX graph at {name!r}")
            # A copy: the session must keep reading these weights, not the module's live parameters.
            arrays.append(np.array(state[name].detach().to("cpu", torch.float32).numpy(), order="C", copy=True))
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.num_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Idle ORT threads must not spin on a machine whose other cores run self-play.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        weights = [ort.OrtValue.ortvalue_from_numpy(a) for a in arrays]
        options.add_external_initializers([name for name, _ in self.graph.initializers], weights)
        self._session = ort.InferenceSession(self.graph.skeleton, options, providers=["CPUExecutionProvider"])
        self._weights = weights

    def __call__(self, observations: np.ndarray, legal_masks: np.ndarray) -> tuple[np.ndarray, ...]:
        outputs = self._session.run(None, {"observations": observations, "legal_masks": legal_masks})
        return tuple(np.asarray(out, dtype=np.float32) for out in outputs)

    def spawn(self, module: torch.nn.Module) -> Runner:
        return OnnxRuntimeRunner(module, self.device, self.num_threads, self.graph)


def _import_onnxruntime() -> Any:
    try:
        import onnx  # noqa: F401 - torch.onnx.export needs it
        import onnxruntime
    except ImportError as err:
        raise BackendUnavailable(f"the onnxruntime backend needs the onnx and onnxruntime packages ({err})") from None
    return onnxruntime


class _OnnxGraph:
    """A module's ONNX graph with its weights stripped (``skeleton``), and the weights it expects.

    Attributes:
        skeleton: the serialized model, every initializer marked as external data.
        initializers: ``(state-dict key, shape)`` of each initializer, in graph order.
    """

    def __init__(self, skeleton: bytes, initializers: list[tuple[str, tuple[int, ...]]]) -> None:
        self.skeleton = skeleton
        self.initializers = initializers

    @classmethod
    def export(cls, module: torch.nn.Module) -> _OnnxGraph:
        import onnx

        # Distinct placeholder values: the exporter merges equal initializers (fresh
        # BatchNorm weights are all ones), which would lose the state-dict names.
        stand_in = copy.deepcopy(module).to("cpu").eval()
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for tensor in stand_in.state_dict().values():
                if tensor.is_floating_point():
                    tensor.copy_(0.5 + torch.rand(tensor.shape, generator=generator))
        example = _example_inputs(stand_in, batch=_PROBE_BATCH, device=torch.device("cpu"))
        with torch.no_grad():
            outputs = stand_in(*example)
        count = 1 if isinstance(outputs, torch.Tensor) else len(outputs)
        output_names = [f"output{i}" for i in range(count)]
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                stand_in,
                example,
                buffer,
                dynamo=False,  # the TorchScript exporter: fast, and names initializers after the state dict
                do_constant_folding=False,  # ORT folds BatchNorm itself, so the weights keep their names
                input_names=["observations", "legal_masks"],
                output_names=output_names,
                dynamic_axes={name: {0: "batch"} for name in ["observations", "legal_masks", *output_names]},
                opset_version=17,
            )
        model = onnx.load_from_string(buffer.getvalue())
        state = stand_in.state_dict()
        initializers = []
        offset = 0
        for init in model.graph.initializer:
            if init.name not in state or not init.raw_data:
                raise ValueError(f"ONNX initializer {init.name!r} is not a weight of the module")
            length = len(init.raw_data)
            initializers.append((init.name, tuple(int(d) for d in init.dims)))
            init.ClearField("raw_data")
            init.data_location = onnx.TensorProto.EXTERNAL
            for key, value in (("location", "weights"), ("offset", str(offset)), ("length", str(length))):
                entry = init.external_data.add()
                entry.key, entry.value = key, value
            offset += length
        return cls(model.SerializeToString(), initializers)


def _example_inputs(module: torch.nn.Module, *, batch: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed probe batch: 0/1 observations and masks with some illegal moves (first move legal)."""
    shape = tuple(module.observation_shape)  # type: ignore[arg-type]
    actions = int(module.num_actions)  # type: ignore[arg-type]
    generator = torch.Generator().manual_seed(12345)
    obs = (torch.rand((batch, *shape), generator=generator) < 0.4).float()
    masks = torch.rand((batch, actions), generator=generator) < 0.7
    masks[:, 0] = True
    return obs.to(device), masks.to(device)


def max_difference(
    outputs: tuple[np.ndarray, ...], reference: tuple[np.ndarray, ...], legal_masks: np.ndarray
) -> float:
    """Largest ``|a - b| / (1 + |b|)`` over two runs' outputs; the first output (logits) only at legal moves."""
    if len(outputs) != len(reference):
        return float("inf")
    worst = 0.0
    for i, (a, b) in enumerate(zip(outputs, reference, strict=True)):
        if a.shape != b.shape:
            return float("inf")
        if i == 0 and a.shape == legal_masks.shape:
            a, b = a[legal_masks], b[legal_masks]
        if a.size:
            worst = max(worst, float(np.max(np.abs(a - b) / (1.0 + np.abs(b)))))
    return worst


def _agrees(runner: Runner) -> float:
    """How far ``runner`` is from eager mode on the probe batch (see :func:`max_difference`)."""
    obs, masks = _example_inputs(runner.module, batch=_PROBE_BATCH, device=torch.device("cpu"))
    obs_np, masks_np = obs.numpy(), masks.numpy()
    reference = Runner(runner.module, runner.device, runner.num_threads)(obs_np, masks_np)
    return max_difference(runner(obs_np, masks_np), reference, masks_np)


_BUILDERS: dict[str, Callable[..., Runner]] = {
    "eager": Runner,
    "channels_last": ChannelsLastRunner,
    "jit": JitRunner,
    "compile": CompileRunner,
    "onnxruntime": OnnxRuntimeRunner,
}


def _build_one(name: str, module: torch.nn.Module, device: torch.device, num_threads: int) -> Runner:
    base, _, mode = name.partition(":")
    start = time.perf_counter()
    if base == "compile":
        runner = CompileRunner(module, device, num_threads, mode or "default")
    else:
        runner = _BUILDERS[base](module, device, num_threads)
    if base != "eager":
        difference = _agrees(runner)  # also the first call: compilation and warm-up happen here
        if not difference <= TOLERANCE:
            raise ValueError(f"outputs differ from eager mode by {difference:.2g} (tolerance {TOLERANCE:g})")
    runner.build_seconds = time.perf_counter() - start
    return runner


def build_runner(
    module: torch.nn.Module,
    backend: str = "eager",
    *,
    device: str | torch.device = "cpu",
    num_threads: int | None = None,
) -> Runner:
    """A :class:`Runner` of ``module`` (in eval mode, on ``device``) for ``backend``.

    ``num_threads`` sets the threads of a backend with its own pool (ONNX Runtime);
    ``None``: torch's current setting. Falls back to eager mode with one warning line
    when the backend is unavailable, fails to build or disagrees with eager mode;
    ``"auto"`` tries :data:`AUTO_ORDER` quietly and warns only if nothing but eager builds
    where something faster was expected.
    """
    check_backend_name(backend)
    device = torch.device(device)
    threads = int(num_threads) if num_threads is not None else torch.get_num_threads()
    module = module.eval()
    if backend == "auto":
        order = AUTO_ORDER.get(device.type, ("eager",))
        for candidate in order:
            try:
                return _build_one(candidate, module, device, threads)
            except BackendUnavailable as err:
                log.debug("inference backend %s not available: %s", candidate, err)
            except Exception as err:  # noqa: BLE001 - any failure means: try the next one
                log.warning("inference backend %s failed (%s: %s); trying the next", candidate,
                            type(err).__name__, _one_line(err))
        return Runner(module, device, threads)
    try:
        return _build_one(backend, module, device, threads)
    except Exception as err:  # noqa: BLE001 - unavailable, failed to build or disagreed: eager mode
        log.warning("inference backend %s unavailable (%s: %s); using eager mode", backend,
                    type(err).__name__, _one_line(err))
        return Runner(module, device, threads)


def reload_runner(runner: Runner) -> Runner:
    """``runner`` after its module's weights changed in place; an eager runner if it then disagrees."""
    if runner.name == "eager":
        return runner
    try:
        runner.reload()
        difference = _agrees(runner)
        if not difference <= TOLERANCE:
            raise ValueError(f"outputs differ from eager mode by {difference:.2g} after new weights")
    except Exception as err:  # noqa: BLE001 - never serve wrong numbers: eager mode from here on
        log.warning("inference backend %s failed after a weights load (%s: %s); using eager mode",
                    runner.name, type(err).__name__, _one_line(err))
        return Runner(runner.module, runner.device, runner.num_threads)
    return runner


def spawn_runner(runner: Runner, module: torch.nn.Module) -> Runner:
    """A runner like ``runner`` for another network of the same architecture (shares the exported graph)."""
    if runner.name == "eager":
        return Runner(module.eval(), runner.device, runner.num_threads)
    try:
        spawned = runner.spawn(module.eval())
        difference = _agrees(spawned)
        if not difference <= TOLERANCE:
            raise ValueError(f"outputs differ from eager mode by {difference:.2g}")
        return spawned
    except Exception as err:  # noqa: BLE001 - same rule as a reload
        log.warning("inference backend %s failed for new weights (%s: %s); using eager mode",
                    runner.name, type(err).__name__, _one_line(err))
        return Runner(module, runner.device, runner.num_threads)


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else ""


__all__ = [
    "AUTO_ORDER",
    "BACKENDS",
    "COMPILE_MODES",
    "TOLERANCE",
    "BackendUnavailable",
    "Runner",
    "build_runner",
    "check_backend_name",
    "max_difference",
    "reload_runner",
    "spawn_runner",
]
