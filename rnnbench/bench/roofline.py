"""The machine's measured matrix-product rate, the roofline each bench row's GFLOP/s is read against.

Two probes on the same shape, the recurrent product of the largest default bench shape (B=64 rows,
H=512, G*H=2048 for an LSTM): np.dot from Python (NumPy's BLAS) and np.dot inside @njit (Numba calls
SciPy's BLAS), since the Numba kernels can reach at most the latter.
"""
import numpy as np
from numba import njit

from rnnbench.bench.timing import time_interleaved

GEMM_SHAPE = (64, 512, 2048)    # (M, K, N): (M, K) @ (K, N)


@njit(cache=True)
def _njit_dot(a, b):
    # a: (M, K), b: (K, N)
    return np.dot(a, b)


def gemm_gflops(dtype="float32", shape=GEMM_SHAPE, repeats=10):
    """(numpy_gflops, njit_gflops): median GFLOP/s of (M, K) @ (K, N) in `dtype` under the current threads."""
    M, K, N = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((M, K)).astype(dtype)
    b = rng.standard_normal((K, N)).astype(dtype)
    t_numpy, t_njit = time_interleaved([lambda: np.dot(a, b), lambda: _njit_dot(a, b)], repeats, warmup=2)
    flop = 2 * M * K * N
    return flop / t_numpy / 1e9, flop / t_njit / 1e9
