"""Vanilla RNN (tanh or relu) forward and backward kernels: h_t = act(xp_t + W_hh h_{t-1} + b_hh).

The forward keeps no extra state: the backward reads act'(.) off the outputs themselves.
"""
import numpy as np
from numba import njit

from rnnbench.kernels.cpu._common import sq_sum


@njit(cache=True)
def rnn_forward(xp, w_hhT, b_hh, h0, lengths, relu, out, h):
    # xp: (T, B, H) input projection W_ih x + b_ih; w_hhT: (H, H) = W_hh^T; b_hh: (H,); h0: (B, H)
    # lengths: (B,); out: (T, B, H) written; h: (B, H) written, the final (carried) state
    T, B, H = xp.shape
    zero = xp.dtype.type(0)
    hp = np.empty((B, H), xp.dtype)
    h[:] = h0
    for t in range(T):
        np.dot(h, w_hhT, hp)
        for b in range(B):
            if t < lengths[b]:
                for j in range(H):
                    a = xp[t, b, j] + hp[b, j] + b_hh[j]
                    v = max(a, zero) if relu else np.tanh(a)
                    out[t, b, j] = v
                    h[b, j] = v
            else:
                out[t, b, :] = zero


@njit(cache=True)
def rnn_backward(w_hh, out, lengths, relu, d_out, dh, dpre, h_norms):
    # w_hh: (H, H); out: (T, B, H) forward outputs; lengths: (B,); d_out: (T, B, H)
    # dh: (B, H) in: dL/dh_n, out: dL/dh0; dpre: (T, B, H) written, dL/d(pre-activation); h_norms: (T,)
    T, B, H = out.shape
    zero = out.dtype.type(0)
    one = out.dtype.type(1)
    dh_prev = np.empty((B, H), out.dtype)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            if t < lengths[b]:
                for j in range(H):
                    dh[b, j] += d_out[t, b, j]
        h_norms[t] = np.sqrt(sq_sum(dh))
        for b in range(B):
            if t < lengths[b]:
                for j in range(H):
                    y = out[t, b, j]
                    if relu:
                        dpre[t, b, j] = dh[b, j] if y > zero else zero
                    else:
                        dpre[t, b, j] = dh[b, j] * (one - y * y)
            else:
                dpre[t, b, :] = zero
        np.dot(dpre[t], w_hh, dh_prev)
        for b in range(B):
            if t < lengths[b]:
                dh[b, :] = dh_prev[b, :]


def forward(p, xp, h0, c0, lengths, relu):
    """Returns (out, h_n, c_n, saved)."""
    out = np.empty_like(xp)
    h = np.empty_like(h0)
    rnn_forward(xp, np.ascontiguousarray(p["weight_hh"].T), p["bias_hh"], h0, lengths, relu, out, h)
    return out, h, None, None


def backward(p, out, h0, c0, lengths, saved, relu, d_out, d_hn, d_cn):
    """Returns (dxp, dhp, dh0, dc0, h_norms, c_norms, extra grads)."""
    dh = d_hn.copy()
    dpre = np.empty_like(out)
    h_norms = np.empty(out.shape[0], out.dtype)
    rnn_backward(p["weight_hh"], out, lengths, relu, d_out, dh, dpre, h_norms)
    return dpre, dpre, dh, None, h_norms, None, {}
