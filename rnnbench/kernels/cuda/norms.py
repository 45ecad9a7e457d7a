"""Per-time-step Frobenius norms ||g_t||_F of a (T, B*H) gradient sequence, reduced on the device.

One block per step; each thread sums squares with a fixed stride, then a shared-memory tree halves the
partial sums: the same order every run, so norms are reproducible bit for bit.
"""
import math

from numba import cuda

from rnnbench.kernels.cuda.device import SIMULATED

THREADS = 4 if SIMULATED else 256          # a power of two


@cuda.jit(cache=True)
def step_norms_kernel(seq, out):
    # seq: (T, N) one row per time step; out: (T,)
    part = cuda.shared.array(THREADS, dtype=seq.dtype)
    t = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    acc = seq.dtype.type(0)
    for i in range(tid, seq.shape[1], THREADS):
        v = seq[t, i]
        acc += v * v
    part[tid] = acc
    cuda.syncthreads()
    s = THREADS // 2
    while s > 0:
        if tid < s:
            part[tid] += part[tid + s]
        cuda.syncthreads()
        s //= 2
    if tid == 0:
        out[t] = math.sqrt(part[0])


def step_norms(seq):
    """Device (T, B, H) -> device (T,) of per-step Frobenius norms."""
    T = seq.shape[0]
    out = cuda.device_array(T, dtype=seq.dtype)
    step_norms_kernel[T, THREADS](seq.reshape(T, seq.size // T), out)
    return out
