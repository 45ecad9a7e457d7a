"""float64 sums on the device, for the training step's scalars (the loss, each gradient's sum of squares).

One block per sum: every thread adds a fixed stride of the entries in float64 (as rnnbench.optim.global_norm
and the losses do on the host), then a shared-memory tree halves the partials: the same order every run, so
results are reproducible bit for bit.
"""
from numba import cuda, float64

from rnnbench.kernels.cuda.device import SIMULATED

THREADS = 4 if SIMULATED else 256          # a power of two


@cuda.jit(device=True, inline=True)
def tree_sum(part, tid):
    # part: (THREADS,) shared partials of one block -> part[0] = their sum, added in a fixed order
    s = THREADS // 2
    while s > 0:
        if tid < s:
            part[tid] += part[tid + s]
        cuda.syncthreads()
        s //= 2


@cuda.jit(cache=True)
def sum_kernel(values, square, divisor, out, slot):
    # values: (N,) float32 or float64; square: add values**2 instead; divisor: float64; out: (S,) float64,
    # out[slot] = the sum / divisor
    part = cuda.shared.array(THREADS, dtype=float64)
    tid = cuda.threadIdx.x
    acc = float64(0)
    for i in range(tid, values.shape[0], THREADS):
        v = float64(values[i])
        acc += v * v if square else v
    part[tid] = acc
    cuda.syncthreads()
    tree_sum(part, tid)
    if tid == 0:
        out[slot] = part[0] / divisor


def add_sum(values, out, slot, square=False, divisor=1.0):
    """out[slot] (device float64) = the float64 sum of device `values` (any shape), or of their squares,
    / divisor."""
    sum_kernel[1, THREADS](values.reshape(values.size), square, divisor, out, slot)
