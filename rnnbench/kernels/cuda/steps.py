"""Device functions shared by the per-cell step kernels: the tiled recurrent products and the
per-thread prologue/epilogue of one time step.

Step kernels run one thread per (batch row b, hidden unit j) on TILE x TILE blocks (x along j, so
accesses to (B, H) rows coalesce) over a grid covering (B, H). Every thread of a block must call the
tiled products, in range or not: they synchronise the block. Scalar constants come from the arrays'
dtype (`one = w.dtype.type(1)`), since a Python literal would promote float32 math to float64.
"""
import math

from numba import cuda

from rnnbench.kernels.cuda.device import TILE, TILE_PAD

MAX_GATES = 4


@cuda.jit(device=True)
def sigmoid(x, one):
    return one / (one + math.exp(-x))


@cuda.jit(device=True)
def position():
    """(b, j): this thread's batch row and hidden unit."""
    return (cuda.blockIdx.y * TILE + cuda.threadIdx.y, cuda.blockIdx.x * TILE + cuda.threadIdx.x)


@cuda.jit(device=True)
def recurrent_gates(acc, hs, t, w_hh, b_hh, b, j):
    """acc[g] = (W_hh h_{t-1} + b_hh)[b, g*H + j] for every gate g: the whole step's recurrent product
    for this block's (b, j) tile, with the h_{t-1} tile and all G gates' W_hh tiles in shared memory.

    acc: (MAX_GATES,) local; hs: (T+1, B, H) with hs[t] = h_{t-1}; w_hh: (G*H, H); b_hh: (G*H,).
    """
    h_sh = cuda.shared.array((TILE, TILE_PAD), dtype=w_hh.dtype)                # [b, k]
    w_sh = cuda.shared.array((MAX_GATES, TILE, TILE_PAD), dtype=w_hh.dtype)    # [g, j, k]
    B, H = hs.shape[1], hs.shape[2]
    G = w_hh.shape[0] // H
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    jr = cuda.blockIdx.x * TILE + ty            # the W_hh row this thread stages (coalesced along k)
    zero = w_hh.dtype.type(0)
    # loops run to the constant MAX_GATES (guarded by g < G) so the compiler unrolls them and keeps acc
    # in registers; a trip count of G would leave acc in local memory, a round trip per multiply-add
    for g in range(MAX_GATES):
        acc[g] = zero
    for k0 in range(0, H, TILE):
        k = k0 + tx
        h_sh[ty, tx] = hs[t, b, k] if b < B and k < H else zero
        for g in range(MAX_GATES):
            if g < G:
                w_sh[g, ty, tx] = w_hh[g * H + jr, k] if jr < H and k < H else zero
        cuda.syncthreads()
        for i in range(TILE):
            hv = h_sh[ty, i]
            for g in range(MAX_GATES):
                if g < G:
                    acc[g] += hv * w_sh[g, tx, i]
        cuda.syncthreads()
    if j < H:
        for g in range(MAX_GATES):
            if g < G:
                acc[g] += b_hh[g * H + j]


@cuda.jit(device=True)
def emit(hs, out, t, b, j, h_new, live):
    """Store h_t: the output (zero past the sequence's length) and the carried state hs[t+1]."""
    if live:
        hs[t + 1, b, j] = h_new
        out[t, b, j] = h_new
    else:
        hs[t + 1, b, j] = hs[t, b, j]
        out[t, b, j] = out.dtype.type(0)


@cuda.jit(device=True)
def total_dh(dh_state, dhp, w_hh, d_out, dh_seq, lengths, t, b, k):
    """dL/dh_t at (b, k), through all later steps, recorded in dh_seq for the norms.

    dh_state: (B, H) the part the previous (later-in-time) step left: its direct term, or the carried
    gradient past the sequence's end; dhp: (T, B, G*H), row t+1 already written (zero where not live),
    times w_hh (G*H, H) is the recurrent path, tiled through shared memory; d_out, dh_seq: (T, B, H).
    """
    d_sh = cuda.shared.array((TILE, TILE_PAD), dtype=w_hh.dtype)    # [b, gj]
    w_sh = cuda.shared.array((TILE, TILE_PAD), dtype=w_hh.dtype)    # [gj, k]
    T, B, H = d_out.shape
    GH = w_hh.shape[0]
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    zero = w_hh.dtype.type(0)
    acc = zero
    if t + 1 < T:                               # uniform over the block: safe around syncthreads
        for g0 in range(0, GH, TILE):
            gj = g0 + tx
            d_sh[ty, tx] = dhp[t + 1, b, gj] if b < B and gj < GH else zero
            gr = g0 + ty
            w_sh[ty, tx] = w_hh[gr, k] if gr < GH and k < H else zero
            cuda.syncthreads()
            for i in range(TILE):
                acc += d_sh[ty, i] * w_sh[i, tx]
            cuda.syncthreads()
    if b < B and k < H:
        acc += dh_state[b, k]
        if t < lengths[b]:
            acc += d_out[t, b, k]
        dh_seq[t, b, k] = acc
    return acc
