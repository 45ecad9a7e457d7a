"""The machine's measured matrix-product rate, the roofline each bench row's GFLOP/s is read against.

Three probes on the same shape, the recurrent product of the largest default bench shape (B=64 rows,
H=512, G*H=2048 for an LSTM): np.dot from Python (NumPy's BLAS), np.dot inside @njit (Numba calls SciPy's
BLAS) and the CPU kernels' own packed-weight product (kernels.cpu.gemm, rows split over the threads as the
kernels split the batch). The best of them is the roofline. A roofline is a ceiling, so each rate is the
best of its repeats: the median would drag it down on a busy machine.

The packed probe runs GEMM_STEPS products per call, as a kernel runs one per time step of a sequence whose
threads start once: a call of one 0.6 ms product timed mostly how fast a virtual machine wakes an idle core
(run_blocks measured 0.13 ms a call at 2 threads with an empty kernel; the same product read 118-177 GFLOP/s
depending on whether the other core had just been busy, 213 when called back to back).
"""
import time

import numpy as np
from numba import njit

from rnnbench.bench.timing import time_interleaved
from rnnbench.kernels.cpu._common import run_blocks, thread_rows
from rnnbench.kernels.cpu.cache import drop_stale
from rnnbench.kernels.cpu.gemm import matmul_rows, pack, width

GEMM_SHAPE = (64, 512, 2048)    # (M, K, N): (M, K) @ (K, N)
GEMM_REPEATS = 10
GEMM_STEPS = 16
BLAS_SPIN_S = 0.3


@njit(cache=True)
def _njit_dot(a, b):
    # a: (M, K), b: (K, N)
    return np.dot(a, b)


@njit(cache=True, nogil=True)
def _packed_rows(lo, hi, a, w, c, steps):
    # a: (M, K); w = pack(b); c: (M, width(w)); rows lo:hi, `steps` times over
    for _ in range(steps):
        matmul_rows(a, lo, hi, w, c[lo:])


drop_stale(_packed_rows)    # it inlines gemm.py: see kernels.cpu.cache


def gemm_gflops(dtype="float32", shape=GEMM_SHAPE, repeats=GEMM_REPEATS):
    """(numpy, njit np.dot, packed kernel) best GFLOP/s of (M, K) @ (K, N) in `dtype` under the current
    threads."""
    M, K, N = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((M, K)).astype(dtype)
    b = rng.standard_normal((K, N)).astype(dtype)
    w = pack(b, rows=thread_rows(M))       # as the lstm forward packs its weights
    c = np.empty((M, width(w)), dtype)
    times = time_interleaved([lambda: np.dot(a, b), lambda: _njit_dot(a, b)], repeats, warmup=2)
    # apart from the BLAS probes, after their worker threads have stopped spinning (OpenBLAS's spin ~0.1 s
    # after a call; beside it, one of the kernel's threads shared its core and the probe read half its rate)
    time.sleep(BLAS_SPIN_S)
    times += time_interleaved([lambda: run_blocks(_packed_rows, M, a, w, c, GEMM_STEPS)], repeats, warmup=2)
    return tuple(2 * M * K * N * steps / min(ts) / 1e9 for ts, steps in zip(times, (1, 1, GEMM_STEPS)))
