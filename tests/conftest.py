"""Test-session setup shared by all test modules, and the one list of backends every backend test runs on.

"reference" and "cpu" always run. "cuda" joins when rnnbench.kernels.cuda exists and numba.cuda can run
(NUMBA_ENABLE_CUDASIM=1, or a real GPU), on tiny shapes and a handful of cases: the simulator is slow.
Tests take the `backend` fixture and bound their random cases by BACKENDS[backend].
"""
import importlib.util
import os
import sys
import time
from typing import NamedTuple

import pytest

# numba reads NUMBA_ENABLE_CUDASIM when numba.cuda is first imported: without a GPU (no NVIDIA driver
# device node) the cuda backend's tests run in numba's simulator; with one they run on the GPU.
if "NUMBA_ENABLE_CUDASIM" not in os.environ and not os.path.exists("/dev/nvidiactl"):
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    # the simulator's block manager busy-polls its thread-per-CUDA-thread while holding the GIL:
    # frequent switches make it several times faster
    sys.setswitchinterval(1e-4)


class Limits(NamedTuple):
    T: int          # largest sequence length,
    B: int          # batch,
    I: int          # input size
    H: int          # and hidden size a random case may have on this backend
    examples: int   # cap on random cases per test
    finite_differences: bool = True  # run the finite-difference checks (dozens of forward passes)


UNLIMITED = Limits(T=10**6, B=10**6, I=10**6, H=10**6, examples=10**6)


def _cuda_usable():
    if importlib.util.find_spec("rnnbench.kernels.cuda") is None:
        return False
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return True
    try:
        from numba import cuda
        return cuda.is_available()
    except ImportError:
        return False


BACKENDS = {"reference": UNLIMITED, "cpu": UNLIMITED}
if _cuda_usable():
    # the simulator is slow: the torch oracles check its numbers, finite differences add nothing
    # backend-specific
    BACKENDS["cuda"] = Limits(T=4, B=2, I=3, H=4, examples=3, finite_differences=False)


@pytest.fixture(params=list(BACKENDS))
def backend(request):
    """Name of the backend under test; BACKENDS[backend] are its limits."""
    return request.param


def implements(backend, cell):
    """Whether `backend` implements `cell` (its declared cells; tests/test_registry.py says which it
    lacks)."""
    from rnnbench.backend import implemented_cells
    return cell in implemented_cells(backend)


def require_cell(backend, cell):
    """Skip the calling test where `backend` does not implement `cell`."""
    if not implements(backend, cell):
        pytest.skip(f"the {backend} backend does not implement the {cell} cell")


def wait_until(condition, procs, timeout=60):
    """Poll condition() until true, failing if one of the processes `procs` ends first or after timeout s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert all(p.poll() is None for p in procs), "a process ended before the test was ready"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
