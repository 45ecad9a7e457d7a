"""The machine's measured matrix-product rate, the roofline each bench row's GFLOP/s is read against.

Three probes on the same shape, the recurrent product of the largest default bench shape (B=64 rows,
H=512, G*H=2048 for an LSTM): np.dot from Python (NumPy's BLAS), np.dot inside @njit (Numba calls SciPy's
BLAS) and the CPU kernels' own packed-weight product (kernels.cpu.gemm, rows split over the threads as the
kernels split the batch). The best of them is the roofline. A roofline is a ceiling, so each rate is the
best of its repeats: the median would drag it down on a busy machine.
"""
import numpy as np
from numba import njit

from rnnbench.bench.timing import time_interleaved
from rnnbench.kernels.cpu._common import run_blocks
from rnnbench.kernels.cpu.cache import drop_stale
from rnnbench.kernels.cpu.gemm import matmul_rows, pack, width

GEMM_SHAPE = (64, 512, 2048)    # (M, K, N): (M, K) @ (K, N)
GEMM_REPEATS = 10


@njit(cache=True)
def _njit_dot(a, b):
    # a: (M, K), b: (K, N)
    return np.dot(a, b)


@njit(cache=True, nogil=True)
def _packed_rows(lo, hi, a, w, c):
    # a: (M, K); w = pack(b); c: (M, width(w)); rows lo:hi
    matmul_rows(a, lo, hi, w, c[lo:])


drop_stale(_packed_rows)    # it inlines gemm.py: see kernels.cpu.cache


def gemm_gflops(dtype="float32", shape=GEMM_SHAPE, repeats=GEMM_REPEATS):
    """(numpy, njit np.dot, packed kernel) best GFLOP/s of (M, K) @ (K, N) in `dtype` under the current
    threads."""
    M, K, N = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((M, K)).astype(dtype)
    b = rng.standard_normal((K, N)).astype(dtype)
    w = pack(b)
    c = np.empty((M, width(w)), dtype)
    times = time_interleaved([lambda: np.dot(a, b), lambda: _njit_dot(a, b),
                              lambda: run_blocks(_packed_rows, M, a, w, c)], repeats, warmup=2)
    return tuple(2 * M * K * N / min(ts) / 1e9 for ts in times)
