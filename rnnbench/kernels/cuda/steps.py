"""The block layout of the per-cell sequence kernels (rnn.py, gru.py, lstm.py) and the device functions they
share: a time step's recurrent products and state updates; and the flat layout of indrnn.py's elementwise
recurrence (elementwise_layout), whose threads share nothing.

One kernel launch runs a layer's whole time loop (forward, or backward through time). Batch rows are
independent through time, so each thread block owns a fixed set of rows for the whole sequence and steps
through t with one block barrier per step; no block ever waits for another (no grid synchronisation). Inside a
block, a thread owns work items (a group of ROWS consecutive rows, one hidden unit j): the G gates x ROWS rows
of the unit's recurrent sums stay in registers, so each W_hh element a thread loads serves ROWS rows. A block
has `groups` row groups, so groups * H items; a thread takes items tid, tid + threads, ... (the same ones at
every step, so the state of (row, unit) is only ever read and written by the thread that owns it).

W_hh is read from global memory at every step, through the L1 cache (these kernels use no shared memory,
which leaves the SM's combined L1/shared storage to L1) and L2: the forward reads W_hh^T (H, G*H) and the
backward W_hh (G*H, H), both along the threads' unit index, so a warp's loads coalesce. The state rows h_{t-1}
(forward) and dhp_{t+1} (backward) are read by all threads of a row group at the same address (broadcast
loads); they were written by other threads of the block in the previous step, which the step barrier makes
visible.

Rows past B (the last group's padding) read the last real row and are never stored. Scalar constants come from
the arrays' dtype (`one = w.dtype.type(1)`): a Python literal would promote float32 math to float64.
"""
import math
from typing import NamedTuple

from numba import cuda

from rnnbench.kernels.cuda.device import SIMULATED

MAX_GATES = 4
# Rows per work item and threads per block. On a GPU a block has at least 128 threads where the batch has rows
# for them (H = 128: one group of 4 rows per block, so B = 64 runs on 16 SMs) and at most 256 (H = 512: two
# units per thread; the LSTM backward takes 160 registers per thread for sm_90, and a block has 65536). The
# simulator runs one Python thread per CUDA thread: few threads, and 2 rows per item, so the tests' tiny
# shapes still cover several items per thread, several groups per block and several blocks.
ROWS = 2 if SIMULATED else 4
UNROLL = 2 if SIMULATED else 4      # k steps of a recurrent product loaded at once (see recurrent_forward)
MIN_THREADS, MAX_THREADS, WARP = (4, 4, 1) if SIMULATED else (128, 256, 32)


class Launch(NamedTuple):
    """A sequence kernel's launch: kernel[blocks, threads](..., groups, ...)."""
    blocks: int
    threads: int        # per block
    groups: int         # row groups per block (layout); 1, unused, for the elementwise kernels


def layout(B, H):
    """Launch for a batch of B rows and H hidden units: `groups` row groups per block."""
    n_groups = -(-B // ROWS)
    groups = max(1, min(n_groups, MIN_THREADS // H))
    threads = min(MAX_THREADS, -(-groups * H // WARP) * WARP)
    return Launch(-(-n_groups // groups), threads, groups)


def elementwise_layout(B, H):
    """Launch for a cell whose recurrence is elementwise (a vector weight_hh, indrnn.py): one thread per
    (row, unit), a flat grid over B*H with no block barrier."""
    threads = min(MIN_THREADS, B * H)
    return Launch(-(-B * H // threads), threads, 1)


@cuda.jit(device=True)
def item(p, groups, H):
    """(row0, j): the first row and the hidden unit of this block's work item p (0 <= p < groups * H)."""
    g = p // H
    return (cuda.blockIdx.x * groups + g) * ROWS, p - g * H


@cuda.jit(device=True)
def sigmoid(x, one):
    return one / (one + math.exp(-x))


@cuda.jit(device=True)
def recurrent_forward(acc, hs, t, wt, b_hh, row0, j, G):
    """acc[r, g] = (W_hh h_{t-1} + b_hh)[row0 + r, g*H + j] for the ROWS rows of an item and every gate g.

    acc: (ROWS, MAX_GATES) local; hs: (T+1, B, H) with hs[t] = h_{t-1}; wt: (H, G*H) = W_hh^T; b_hh: (G*H,);
    G: the cell's gate count, a constant.
    """
    B, H = hs.shape[1], hs.shape[2]
    last = B - 1
    zero = wt.dtype.type(0)
    w = cuda.local.array((UNROLL, MAX_GATES), dtype=wt.dtype)
    h = cuda.local.array((UNROLL, ROWS), dtype=wt.dtype)
    # loops run to the constants MAX_GATES, ROWS and UNROLL (guarded by g < G) so the compiler unrolls them
    # and keeps acc, w and h in registers; a trip count of G would leave acc in local memory, a round trip per
    # multiply-add. UNROLL k values are loaded before any is used: that many loads per gate in flight at once
    for g in range(MAX_GATES):
        if g < G:
            bias = b_hh[g * H + j]
            for r in range(ROWS):
                acc[r, g] = bias
    for k0 in range(0, H, UNROLL):
        for u in range(UNROLL):
            k = k0 + u
            inside = k < H                  # past H: zeros, which add nothing
            for r in range(ROWS):
                h[u, r] = hs[t, min(row0 + r, last), k] if inside else zero
            for g in range(MAX_GATES):
                if g < G:
                    w[u, g] = wt[k, g * H + j] if inside else zero
        for u in range(UNROLL):
            for g in range(MAX_GATES):
                if g < G:
                    for r in range(ROWS):
                        acc[r, g] += w[u, g] * h[u, r]


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
def carried_dh(acc, dh_state, dhp, s, w_hh, row0, k):
    """acc[r] = dh_state[b, k] + (dhp[s] @ W_hh)[b, k], b = row0 + r: the gradient reaching h_{s-1} from step
    s and later (dhp[s] is zero where step s is padding; s = T adds nothing), for the ROWS rows of an item.

    acc: (ROWS,) local; dh_state: (B, H) what the later steps carry past step s's gate equations (the direct
    term of step s, or the gradient carried past a sequence's end); dhp: (T, B, G*H); w_hh: (G*H, H).
    """
    T, B = dhp.shape[0], dhp.shape[1]
    GH = w_hh.shape[0]
    last = B - 1
    zero = w_hh.dtype.type(0)
    w = cuda.local.array(UNROLL, dtype=w_hh.dtype)
    d = cuda.local.array((UNROLL, ROWS), dtype=w_hh.dtype)
    for r in range(ROWS):
        acc[r] = dh_state[min(row0 + r, last), k]
    if s < T:
        for i0 in range(0, GH, UNROLL):     # as in recurrent_forward: UNROLL loads issued before their use
            for u in range(UNROLL):
                i = i0 + u
                inside = i < GH
                w[u] = w_hh[i, k] if inside else zero
                for r in range(ROWS):
                    d[u, r] = dhp[s, min(row0 + r, last), i] if inside else zero
            for u in range(UNROLL):
                for r in range(ROWS):
                    acc[r] += w[u] * d[u, r]


@cuda.jit(device=True)
def total_dh(carried, d_out, dh_seq, lengths, t, b, k):
    """dL/dh_t at (b, k): the carried part plus the output's gradient (none past the sequence's length),
    recorded in dh_seq (T, B, H) for the per-step norms."""
    dh = carried + d_out[t, b, k] if t < lengths[b] else carried
    dh_seq[t, b, k] = dh
    return dh


@cuda.jit(device=True)
def initial_dh(dh_state, dhp, w_hh, groups):
    """After the backward time loop (and its last barrier): dh_state (B, H) becomes dL/dh0, adding what step 0
    passes back through W_hh."""
    B, H = dh_state.shape
    acc = cuda.local.array(ROWS, dtype=dh_state.dtype)
    for p in range(cuda.threadIdx.x, groups * H, cuda.blockDim.x):
        row0, k = item(p, groups, H)
        if row0 < B:
            carried_dh(acc, dh_state, dhp, 0, w_hh, row0, k)
            for r in range(ROWS):
                if row0 + r < B:
                    dh_state[row0 + r, k] = acc[r]
