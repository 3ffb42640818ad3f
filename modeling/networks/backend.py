"""The array library the trainer (``train``) runs on: numpy on the CPU, torch on a CUDA GPU.

The training step is written once against the few operations below, which numpy and torch both
provide with ``out=`` (``matmul``, ``add``, ``subtract``, ``multiply``, ``greater``, ``sum`` and
``amin`` along an axis; torch accepts numpy's ``axis=``), plus a handful of helpers that differ
(``asarray``, ``empty``, ``clone``, ``mm``: the networks' shared-input products, ``relu_``, ``norm``,
``to_numpy``, threads). The CPU always runs
on numpy, whether or not torch is installed, so a network trains to the same numbers in a
``make demo`` venv (no torch) and a ``make test`` venv; torch is imported only for a ``cuda``
device (the ``gpu`` extra), or when a test sets ``TORCH_ON_CPU`` to check that both libraries give
the same networks.

array-api-compat (numpy and torch behind the Array API standard) is not used: the standard has no
``out=``, and the trainer's speed comes from writing every step into preallocated buffers.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from garden.core.errors import SettingError
from threadpoolctl import threadpool_info, threadpool_limits


@dataclass(frozen=True)
class Backend:
    """One array library on one device: ``xp`` is the ``numpy`` or ``torch`` module (ufuncs with ``out=``)."""

    xp: Any
    device: Any = None   # torch.device; None for numpy

    @property
    def is_torch(self) -> bool:
        return self.device is not None

    @property
    def on_cpu(self) -> bool:
        return not self.is_torch or self.device.type == "cpu"

    def dtype(self, name: str):
        """The library's dtype called ``name`` (float32, float64)."""
        return getattr(self.xp, name)

    def asarray(self, a, dtype: str):
        """A contiguous copy of the numpy array ``a`` in this library, on this device."""
        a = np.ascontiguousarray(a)
        if self.is_torch:
            return self.xp.tensor(a, dtype=self.dtype(dtype), device=self.device)
        return a.astype(dtype, copy=True)

    def empty(self, *shape: int, dtype: str):
        """An uninitialised array (the library's ``empty``) on this device."""
        if self.is_torch:
            return self.xp.empty(*shape, dtype=self.dtype(dtype), device=self.device)
        return np.empty(shape, dtype=dtype)

    def clone(self, a):
        """A copy of ``a`` in the same library."""
        return a.clone() if self.is_torch else a.copy()

    def mm(self, a, b, out) -> None:
        """out = a @ b for every network: ``a`` (P, K) shared, ``b`` (K, N, H) and ``out`` (P, N, H), N networks.

        numpy: one (P, K) x (K, H) GEMM per network, so a network's numbers do not depend on how many
        share the call (OpenBLAS picks its kernel, and so its rounding, by the matrices' width); torch:
        one GEMM of all networks at once (a GPU wants the large product)."""
        if self.is_torch:
            k, n, h = b.shape
            self.xp.matmul(a, b.reshape(k, n * h), out=out.reshape(len(a), n * h))
        else:
            np.matmul(a, b.transpose(1, 0, 2), out=out.transpose(1, 0, 2))

    def relu_(self, a) -> None:
        """a = max(a, 0) in place."""
        if self.is_torch:
            a.relu_()
        else:
            np.maximum(a, 0, out=a)

    def norm(self, a, axis: tuple[int, ...]):
        """Euclidean norm of ``a`` over ``axis`` (a new array)."""
        if self.is_torch:
            return self.xp.linalg.vector_norm(a, dim=axis)
        return np.sqrt(np.sum(a * a, axis=axis))

    def to_numpy(self, a, dtype: str = "float64") -> np.ndarray:
        """``a`` as a numpy array of ``dtype`` (a copy)."""
        if self.is_torch:
            a = a.cpu().numpy()
        return np.array(a, dtype=dtype)

    def threads(self) -> int:
        """Threads the library computes on now (torch's setting; numpy: its BLAS's current limit)."""
        if self.is_torch:
            return self.xp.get_num_threads()
        return max([info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"], default=1)

    def set_threads(self, threads: int) -> None:
        """Set torch's CPU threads (numpy: set per call of ``run_chunks``)."""
        if self.is_torch:
            self.xp.set_num_threads(threads)

    def run_chunks(self, run: Callable[[slice], Any], parts: list[slice], threads: int = 0) -> list:
        """``run(part)`` for every part: with several parts and threads, the parts in parallel (one
        thread each, single-threaded inside: the chunks, not the small operations, run in parallel)."""
        threads = threads or self.threads()
        parallel = self.on_cpu and len(parts) > 1 and threads > 1
        if self.is_torch:
            return self._run_torch(run, parts, parallel)
        with threadpool_limits(1 if parallel else threads, user_api="blas"):
            if not parallel:
                return [run(part) for part in parts]
            with ThreadPoolExecutor(min(threads, len(parts))) as pool:
                return list(pool.map(run, parts))

    def _run_torch(self, run: Callable[[slice], Any], parts: list[slice], parallel: bool) -> list:
        if not parallel:
            return [run(part) for part in parts]
        threads = self.xp.get_num_threads()
        def single(part: slice):
            self.xp.set_num_threads(1)   # in this worker thread
            return run(part)
        with ThreadPoolExecutor(min(threads, len(parts))) as pool:
            results = list(pool.map(single, parts))
        self.xp.set_num_threads(threads)
        return results


def check_device(device: str) -> None:
    """SettingError unless ``device`` (auto, cpu, cuda, cuda:N) can be used here (cuda: torch with a CUDA GPU)."""
    if not device.startswith("cuda"):
        return
    import torch  # deferred: optional (the [gpu] extra; missing, garden.cli names it: core.errors.EXTRAS)
    if not torch.cuda.is_available():
        raise SettingError("device", f"{device}: this torch build or machine has no CUDA GPU; use cpu or auto")
    index = int(device.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise SettingError("device", f"{device}: only {torch.cuda.device_count()} CUDA device(s) here "
                                     f"(cuda:0..cuda:{torch.cuda.device_count() - 1})")


GPU_DEVICE_FILES = ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia", "/dev/kfd", "/dev/dxg")
"""Files a Linux machine has when torch could see a GPU through its CUDA API: NVIDIA's driver, AMD's ROCm
(``/dev/kfd``), WSL 2's GPU (``/dev/dxg``)."""


def no_gpu_here() -> bool:
    """Whether this machine surely has no GPU torch could use, known without importing torch (about 3.5 s of CPU):
    macOS (torch has no CUDA build there), or Linux with none of ``GPU_DEVICE_FILES``. False where unsure."""
    if sys.platform == "darwin":
        return True
    return sys.platform.startswith("linux") and not any(Path(name).exists() for name in GPU_DEVICE_FILES)


def _cuda_available() -> bool:
    """Whether torch is installed and sees a CUDA GPU (False without torch, and without importing torch where
    ``no_gpu_here``)."""
    if no_gpu_here() and "torch" not in sys.modules:
        return False
    try:
        import torch  # deferred: optional (the [gpu] extra)
    except ModuleNotFoundError as exc:
        if exc.name != "torch":
            raise
        return False
    return torch.cuda.is_available()


TORCH_ON_CPU = False
"""Testing only: run the CPU on torch too (the test that numpy and torch train the same networks sets it)."""


def backend(device: str = "auto") -> Backend:
    """The backend of ``device``: 'auto' -> cuda when torch sees a GPU, else cpu; cpu -> numpy
    (torch if ``TORCH_ON_CPU``); cuda[:N] -> torch."""
    if device == "auto":
        device = "cuda" if _cuda_available() else "cpu"
    if device == "cpu" and not TORCH_ON_CPU:
        return Backend(np)
    check_device(device)
    import torch  # deferred: optional (the [gpu] extra)
    return Backend(torch, torch.device(device))
