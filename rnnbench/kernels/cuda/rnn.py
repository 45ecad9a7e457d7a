"""Vanilla RNN step kernels: h_t = act(xp_t + W_hh h_{t-1} + b_hh), act = tanh or relu (rnnbench/cells/rnn.py).

Shared argument shapes of every cell's step kernels (unused ones are (1,)*ndim placeholders):
    t: the time step; xp: (T, B, G*H) = x W_ih^T + b_ih; w_hh: (G*H, H); b_hh: (G*H,); wp: (3, H) peepholes;
    lengths: (B,) int64; relu: rnn's activation flag; hs, cs: (T+1, B, H) states, [0] the initial ones,
    [t+1] after step t (carried unchanged past a sequence's length); saved: (T, B, SAVED*H) gate values;
    out: (T, B, H); d_out, dh_seq, dc_seq: (T, B, H); dh_state, dc_state: (B, H), updated in place;
    dxp, dhp: (T, B, G*H) pre-activation gradients (dhp is dxp unless the cell scales a recurrent term);
    dwp: (T, B, 3*H) per-step peephole gradient terms.
"""
import math

from numba import cuda

from rnnbench.kernels.cuda.steps import MAX_GATES, emit, position, recurrent_gates, total_dh

SAVED = 0              # the new state hs[t+1] is all backward needs
SEPARATE_DHP = False


@cuda.jit(cache=True)
def forward_step(t, xp, w_hh, b_hh, wp, lengths, relu, hs, cs, saved, out):
    b, j = position()
    acc = cuda.local.array(MAX_GATES, dtype=xp.dtype)
    recurrent_gates(acc, hs, t, w_hh, b_hh, b, j)
    if b < hs.shape[1] and j < hs.shape[2]:
        pre = xp[t, b, j] + acc[0]
        zero = xp.dtype.type(0)
        h_new = max(pre, zero) if relu else math.tanh(pre)
        emit(hs, out, t, b, j, h_new, t < lengths[b])


@cuda.jit(cache=True)
def backward_step(t, w_hh, wp, lengths, relu, hs, cs, saved, d_out, dh_state, dc_state, dh_seq, dc_seq,
                  dxp, dhp, dwp):
    b, k = position()
    dh = total_dh(dh_state, dhp, w_hh, d_out, dh_seq, lengths, t, b, k)
    if b < hs.shape[1] and k < hs.shape[2]:
        zero = w_hh.dtype.type(0)
        one = w_hh.dtype.type(1)
        h = hs[t + 1, b, k]
        if t < lengths[b]:
            dxp[t, b, k] = (dh if h > zero else zero) if relu else dh * (one - h * h)
            dh_state[b, k] = zero
        else:                                   # padded: no gradient enters, dh passes through
            dxp[t, b, k] = zero
            dh_state[b, k] = dh
