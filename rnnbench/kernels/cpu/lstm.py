"""LSTM (gate order i, f, g, o) forward and backward kernels.

    i, f, o = s(xp + hp);  g = tanh(xp_g + hp_g);  c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)

with hp = W_hh h_{t-1} + b_hh. The forward stores the activated gates, c_t and tanh(c_t) per step.
"""
import numpy as np
from numba import njit

from rnnbench.kernels.cpu._common import sigmoid, sq_sum


@njit(cache=True)
def lstm_forward(xp, w_hhT, b_hh, h0, c0, lengths, out, h, c, gates, cs, tcs):
    # xp: (T, B, 4H); w_hhT: (H, 4H) = W_hh^T; b_hh: (4H,); h0, c0: (B, H); lengths: (B,)
    # written: out (T, B, H); h, c (B, H) final states; gates (T, B, 4H) (i, f, g, o); cs, tcs (T, B, H)
    T, B, G = xp.shape
    H = G // 4
    zero = xp.dtype.type(0)
    one = xp.dtype.type(1)
    hp = np.empty((B, G), xp.dtype)
    h[:] = h0
    c[:] = c0
    for t in range(T):
        np.dot(h, w_hhT, hp)
        for b in range(B):
            if t < lengths[b]:
                for j in range(H):
                    i = sigmoid(xp[t, b, j] + hp[b, j] + b_hh[j], one)
                    f = sigmoid(xp[t, b, H + j] + hp[b, H + j] + b_hh[H + j], one)
                    g = np.tanh(xp[t, b, 2 * H + j] + hp[b, 2 * H + j] + b_hh[2 * H + j])
                    o = sigmoid(xp[t, b, 3 * H + j] + hp[b, 3 * H + j] + b_hh[3 * H + j], one)
                    cn = f * c[b, j] + i * g
                    tc = np.tanh(cn)
                    gates[t, b, j] = i
                    gates[t, b, H + j] = f
                    gates[t, b, 2 * H + j] = g
                    gates[t, b, 3 * H + j] = o
                    cs[t, b, j] = cn
                    tcs[t, b, j] = tc
                    c[b, j] = cn
                    out[t, b, j] = o * tc
                    h[b, j] = o * tc
            else:
                out[t, b, :] = zero


@njit(cache=True)
def lstm_backward(w_hh, c0, gates, cs, tcs, lengths, d_out, dh, dc, da, h_norms, c_norms):
    # w_hh: (4H, H); c0: (B, H); gates: (T, B, 4H); cs, tcs: (T, B, H); lengths: (B,); d_out: (T, B, H)
    # dh, dc: (B, H) in dL/dh_n, dL/dc_n, out dL/dh0, dL/dc0; da: (T, B, 4H) written, dL/d(pre-activations)
    # h_norms, c_norms: (T,) written
    T, B, H = cs.shape
    zero = cs.dtype.type(0)
    one = cs.dtype.type(1)
    dh_prev = np.empty((B, H), cs.dtype)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            if t < lengths[b]:
                for j in range(H):
                    dh[b, j] += d_out[t, b, j]
        h_norms[t] = np.sqrt(sq_sum(dh))
        cprev = c0 if t == 0 else cs[t - 1]
        for b in range(B):
            if t < lengths[b]:
                for j in range(H):
                    i = gates[t, b, j]
                    f = gates[t, b, H + j]
                    g = gates[t, b, 2 * H + j]
                    o = gates[t, b, 3 * H + j]
                    tc = tcs[t, b, j]
                    dct = dc[b, j] + dh[b, j] * o * (one - tc * tc)
                    da[t, b, j] = dct * g * i * (one - i)
                    da[t, b, H + j] = dct * cprev[b, j] * f * (one - f)
                    da[t, b, 2 * H + j] = dct * i * (one - g * g)
                    da[t, b, 3 * H + j] = dh[b, j] * tc * o * (one - o)
                    dc[b, j] = dct     # dL/dc_t for the norm; becomes dL/dc_{t-1} below
            else:
                da[t, b, :] = zero
        c_norms[t] = np.sqrt(sq_sum(dc))
        np.dot(da[t], w_hh, dh_prev)
        for b in range(B):
            if t < lengths[b]:
                for j in range(H):
                    dc[b, j] *= gates[t, b, H + j]
                    dh[b, j] = dh_prev[b, j]


def allocate_forward(xp, h0):
    """Output buffers shared with the peephole cell: out, h, c, gates, cs, tcs."""
    T, B, H = xp.shape[0], xp.shape[1], h0.shape[1]
    return (np.empty((T, B, H), xp.dtype), np.empty_like(h0), np.empty_like(h0), np.empty_like(xp),
            np.empty((T, B, H), xp.dtype), np.empty((T, B, H), xp.dtype))


def forward(p, xp, h0, c0, lengths, relu):
    """Returns (out, h_n, c_n, saved)."""
    out, h, c, gates, cs, tcs = bufs = allocate_forward(xp, h0)
    lstm_forward(xp, np.ascontiguousarray(p["weight_hh"].T), p["bias_hh"], h0, c0, lengths, *bufs)
    return out, h, c, (gates, cs, tcs)


def backward(p, out, h0, c0, lengths, saved, relu, d_out, d_hn, d_cn):
    """Returns (dxp, dhp, dh0, dc0, h_norms, c_norms, extra grads)."""
    gates, cs, tcs = saved
    dh, dc = d_hn.copy(), d_cn.copy()
    da = np.empty_like(gates)
    h_norms = np.empty(out.shape[0], out.dtype)
    c_norms = np.empty_like(h_norms)
    lstm_backward(p["weight_hh"], c0, gates, cs, tcs, lengths, d_out, dh, dc, da, h_norms, c_norms)
    return da, da, dh, dc, h_norms, c_norms, {}
