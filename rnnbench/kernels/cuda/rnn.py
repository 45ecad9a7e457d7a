"""Vanilla RNN sequence kernels: h_t = act(xp_t + W_hh h_{t-1} + b_hh), act = tanh or relu
(rnnbench/cells/rnn.py).

Shared argument shapes of every cell's kernels (unused ones are (1,)*ndim placeholders; the block layout and
the item loop are rnnbench/kernels/cuda/steps.py's):
    xp: (T, B, G*H) = x W_ih^T + b_ih; wt: (H, G*H) = W_hh^T; w_hh: (G*H, H); b_hh: (G*H,); wp: (3, H)
    peepholes; lengths: (B,) int64; relu: rnn's activation flag; groups: row groups per block; keep: store
    what the backward needs (saved); hs, cs: (T+1, B, H) states, [0] the initial ones, [t+1] after step t
    (carried unchanged past a sequence's length); saved: (T, B, SAVED*H) gate values; out: (T, B, H); d_out,
    dh_seq, dc_seq: (T, B, H); dh_state, dc_state: (B, H), the gradient carried from step to step, dL/dh0 and
    dL/dc0 at the end; dxp, dhp: (T, B, G*H) pre-activation gradients (dhp is dxp unless the cell scales a
    recurrent term); dwp: (T, B, 3*H) per-step peephole gradient terms.
"""
import math

from numba import cuda

from rnnbench.kernels.cuda.steps import (MAX_GATES, ROWS, carried_dh, emit, initial_dh, item,
                                         recurrent_forward, total_dh)

GATES = 1
SAVED = 0              # the new state hs[t+1] is all backward needs
SEPARATE_DHP = False


@cuda.jit(cache=True)
def forward_kernel(xp, wt, b_hh, wp, lengths, relu, groups, keep, hs, cs, saved, out):
    # xp: (T, B, G*H); wt: (H, G*H) = W_hh^T; b_hh: (G*H,); wp: (3, H); lengths: (B,); hs, cs: (T+1, B, H);
    # saved: (T, B, SAVED*H); out: (T, B, H)   (all arguments: rnnbench/kernels/cuda/rnn.py's docstring)
    T, B, H = out.shape
    zero = xp.dtype.type(0)
    acc = cuda.local.array((ROWS, MAX_GATES), dtype=xp.dtype)
    for t in range(T):
        for p in range(cuda.threadIdx.x, groups * H, cuda.blockDim.x):
            row0, j = item(p, groups, H)
            if row0 < B:
                recurrent_forward(acc, hs, t, wt, b_hh, row0, j, GATES)
                for r in range(ROWS):
                    b = row0 + r
                    if b < B:
                        pre = xp[t, b, j] + acc[r, 0]
                        emit(hs, out, t, b, j, max(pre, zero) if relu else math.tanh(pre), t < lengths[b])
        cuda.syncthreads()


@cuda.jit(cache=True)
def backward_kernel(w_hh, wp, lengths, relu, groups, hs, cs, saved, d_out, dh_state, dc_state, dh_seq, dc_seq,
                    dxp, dhp, dwp):
    # w_hh: (G*H, H); wp: (3, H); lengths: (B,); hs, cs: (T+1, B, H); saved: (T, B, SAVED*H); d_out, dh_seq,
    # dc_seq: (T, B, H); dh_state, dc_state: (B, H); dxp, dhp: (T, B, G*H); dwp: (T, B, 3*H)
    T, B, H = d_out.shape
    zero = w_hh.dtype.type(0)
    one = w_hh.dtype.type(1)
    acc = cuda.local.array(ROWS, dtype=w_hh.dtype)
    for t in range(T - 1, -1, -1):
        for p in range(cuda.threadIdx.x, groups * H, cuda.blockDim.x):
            row0, k = item(p, groups, H)
            if row0 < B:
                carried_dh(acc, dh_state, dhp, t + 1, w_hh, row0, k)
                for r in range(ROWS):
                    b = row0 + r
                    if b < B:
                        dh = total_dh(acc[r], d_out, dh_seq, lengths, t, b, k)
                        h = hs[t + 1, b, k]
                        if t < lengths[b]:
                            dxp[t, b, k] = (dh if h > zero else zero) if relu else dh * (one - h * h)
                            dh_state[b, k] = zero
                        else:                   # padded: no gradient enters, dh passes through
                            dxp[t, b, k] = zero
                            dh_state[b, k] = dh
        cuda.syncthreads()
    initial_dh(dh_state, dhp, w_hh, groups)
