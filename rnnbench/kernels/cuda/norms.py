"""Per-time-step Frobenius norms ||g_t||_F of a (T, B*H) gradient sequence, reduced on the device.

One block per step, two passes: the largest |entry| m, then the sum of (entry / m)^2, so the norm neither
underflows (a plain sum of squares reads 0 below ~1e-154 in float64, ~1e-19 in float32) nor overflows.
Each pass has every thread reduce a fixed stride, then a shared-memory tree halves the partials: the same
order every run, so norms are reproducible bit for bit. NaN and inf pass through.
"""
import math

from numba import cuda

from rnnbench.kernels.cuda.sums import THREADS, tree_sum


@cuda.jit(device=True, inline=True)
def _larger(m, v):
    # max that keeps NaN once seen
    return v if v > m or v != v else m


@cuda.jit(cache=True)
def step_norms_kernel(seq, out):
    # seq: (T, N) one row per time step; out: (T,)
    part = cuda.shared.array(THREADS, dtype=seq.dtype)
    t = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    zero = seq.dtype.type(0)
    m = zero
    for i in range(tid, seq.shape[1], THREADS):
        m = _larger(m, abs(seq[t, i]))
    part[tid] = m
    cuda.syncthreads()
    s = THREADS // 2
    while s > 0:
        if tid < s:
            part[tid] = _larger(part[tid], part[tid + s])
        cuda.syncthreads()
        s //= 2
    m = part[0]
    cuda.syncthreads()
    if m == zero or m != m or math.isinf(m):
        if tid == 0:
            out[t] = m
        return
    acc = zero
    for i in range(tid, seq.shape[1], THREADS):
        v = seq[t, i] / m
        acc += v * v
    part[tid] = acc
    cuda.syncthreads()
    tree_sum(part, tid)
    if tid == 0:
        out[t] = m * math.sqrt(part[0])


def step_norms(seq):
    """Device (T, B, H) -> device (T,) of per-step Frobenius norms."""
    T = seq.shape[0]
    out = cuda.device_array(T, dtype=seq.dtype)
    step_norms_kernel[T, THREADS](seq.reshape(T, seq.size // T), out)
    return out
