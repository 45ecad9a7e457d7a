"""IndRNN sequence kernels (Li et al. 2018): h_t = act(xp_t + w_hh * h_{t-1} + b_hh), act = relu or tanh
(rnnbench/cells/indrnn.py), with xp = x W_ih^T + b_ih from layer.py's whole-sequence GEMM.

The recurrence is elementwise (w_hh: (H,)): unit j of row b depends only on its own past, so each thread owns
one (row, unit) pair for the whole sequence and loops over t with no barrier and no recurrent product
(steps.elementwise_layout: a flat grid over B*H, consecutive threads on consecutive units, so every load and
store coalesces). The kernels take the argument list every cell's kernels share (the docstring of
rnnbench/kernels/cuda/rnn.py); the arguments IndRNN has no use for are placeholders, and the recurrent weight
is the vector w_hh itself in both directions. Backward, the kernel writes dL/dpre_t (dxp, which also serves
as dhp) and the per-step terms dL/dpre_t * h_{t-1} of w_hh's gradient, which layer.py sums over (t, b) like
the peepholes'.
"""
import math

from numba import cuda

GATES = 1
SAVED = 0              # the new state hs[t+1] is all backward needs
SEPARATE_DHP = False   # dL/d(w_hh * h_{t-1} + b_hh) is dL/dpre_t: both biases get the same gradient


@cuda.jit(cache=True)
def forward_kernel(xp, w_hh, b_hh, wp, lengths, relu, groups, keep, hs, cs, saved, out):
    # xp: (T, B, H); w_hh: (H,); b_hh: (H,); lengths: (B,); hs: (T+1, B, H); out: (T, B, H)
    # (wp, groups, keep, cs, saved: unused placeholders of the shared argument list)
    T, B, H = out.shape
    i = cuda.grid(1)
    if i < B * H:
        b = i // H
        j = i - b * H
        zero = xp.dtype.type(0)
        w = w_hh[j]
        bias = b_hh[j]
        n = lengths[b]
        h = hs[0, b, j]
        for t in range(T):
            if t < n:
                pre = xp[t, b, j] + w * h + bias
                h = max(pre, zero) if relu else math.tanh(pre)
                out[t, b, j] = h
            else:                       # past the sequence's length: the state is carried, the output zero
                out[t, b, j] = zero
            hs[t + 1, b, j] = h


@cuda.jit(cache=True)
def backward_kernel(w_hh, wp, lengths, relu, groups, hs, cs, saved, d_out, dh_state, dc_state, dh_seq, dc_seq,
                    dxp, dhp, dw_terms):
    # w_hh: (H,); lengths: (B,); hs: (T+1, B, H); d_out, dh_seq: (T, B, H); dh_state: (B, H), dL/dh_n in,
    # dL/dh0 out; dxp: (T, B, H) dL/dpre_t; dw_terms: (T, B, H) dL/dpre_t * h_{t-1}
    # (wp, groups, cs, saved, dc_state, dc_seq: unused placeholders; dhp is dxp)
    T, B, H = d_out.shape
    i = cuda.grid(1)
    if i < B * H:
        b = i // H
        j = i - b * H
        zero = d_out.dtype.type(0)
        one = d_out.dtype.type(1)
        w = w_hh[j]
        n = lengths[b]
        d = dh_state[b, j]              # dL/dh_t, carried from the later steps
        for t in range(T - 1, -1, -1):
            if t < n:
                d += d_out[t, b, j]
                dh_seq[t, b, j] = d
                h = hs[t + 1, b, j]
                dpre = (d if h > zero else zero) if relu else d * (one - h * h)
                dxp[t, b, j] = dpre
                dw_terms[t, b, j] = dpre * hs[t, b, j]
                d = dpre * w
            else:                       # padded: no gradient enters, dh passes through
                dh_seq[t, b, j] = d
                dxp[t, b, j] = zero
                dw_terms[t, b, j] = zero
        dh_state[b, j] = d
