"""Peephole LSTM (Gers, Schraudolph & Schmidhuber 2002; gate order i, f, g, o) forward and backward kernels.

    i = s(a_i + p_i * c_{t-1});  f = s(a_f + p_f * c_{t-1});  g = tanh(a_g);  c_t = f * c_{t-1} + i * g
    o = s(a_o + p_o * c_t);  h_t = o * tanh(c_t)

with a = xp + W_hh h_{t-1} + b_hh and p = weight_peephole (3, H). Saved state as for lstm.
"""
import numpy as np
from numba import njit

from rnnbench.kernels.cpu._common import sigmoid, sq_sum
from rnnbench.kernels.cpu.lstm import allocate_forward


@njit(cache=True)
def peephole_forward(xp, w_hhT, b_hh, w_p, h0, c0, lengths, out, h, c, gates, cs, tcs):
    # xp: (T, B, 4H); w_hhT: (H, 4H) = W_hh^T; b_hh: (4H,); w_p: (3, H); h0, c0: (B, H); lengths: (B,)
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
                    cp = c[b, j]
                    i = sigmoid(xp[t, b, j] + hp[b, j] + b_hh[j] + w_p[0, j] * cp, one)
                    f = sigmoid(xp[t, b, H + j] + hp[b, H + j] + b_hh[H + j] + w_p[1, j] * cp, one)
                    g = np.tanh(xp[t, b, 2 * H + j] + hp[b, 2 * H + j] + b_hh[2 * H + j])
                    cn = f * cp + i * g
                    o = sigmoid(xp[t, b, 3 * H + j] + hp[b, 3 * H + j] + b_hh[3 * H + j] + w_p[2, j] * cn, one)
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
def peephole_backward(w_hh, w_p, c0, gates, cs, tcs, lengths, d_out, dh, dc, da, dw_p, h_norms, c_norms):
    # w_hh: (4H, H); w_p: (3, H); c0: (B, H); gates: (T, B, 4H); cs, tcs: (T, B, H); lengths: (B,)
    # d_out: (T, B, H); dh, dc: (B, H) in dL/dh_n, dL/dc_n, out dL/dh0, dL/dc0
    # written: da (T, B, 4H) dL/d(pre-activations); dw_p (3, H) float64 accumulator; h_norms, c_norms (T,)
    T, B, H = cs.shape
    zero = cs.dtype.type(0)
    one = cs.dtype.type(1)
    dh_prev = np.empty((B, H), cs.dtype)
    dw_p[:] = 0.0
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
                    cp = cprev[b, j]
                    do = dh[b, j] * tc * o * (one - o)
                    dct = dc[b, j] + dh[b, j] * o * (one - tc * tc) + do * w_p[2, j]
                    di = dct * g * i * (one - i)
                    df = dct * cp * f * (one - f)
                    da[t, b, j] = di
                    da[t, b, H + j] = df
                    da[t, b, 2 * H + j] = dct * i * (one - g * g)
                    da[t, b, 3 * H + j] = do
                    dw_p[0, j] += di * cp
                    dw_p[1, j] += df * cp
                    dw_p[2, j] += do * cs[t, b, j]
                    dc[b, j] = dct     # dL/dc_t for the norm; becomes dL/dc_{t-1} below
            else:
                da[t, b, :] = zero
        c_norms[t] = np.sqrt(sq_sum(dc))
        np.dot(da[t], w_hh, dh_prev)
        for b in range(B):
            if t < lengths[b]:
                for j in range(H):
                    dc[b, j] = dc[b, j] * gates[t, b, H + j] + da[t, b, j] * w_p[0, j] + da[t, b, H + j] * w_p[1, j]
                    dh[b, j] = dh_prev[b, j]


def forward(p, xp, h0, c0, lengths, relu):
    """Returns (out, h_n, c_n, saved)."""
    out, h, c, gates, cs, tcs = bufs = allocate_forward(xp, h0)
    peephole_forward(xp, np.ascontiguousarray(p["weight_hh"].T), p["bias_hh"], p["weight_peephole"],
                     h0, c0, lengths, *bufs)
    return out, h, c, (gates, cs, tcs)


def backward(p, out, h0, c0, lengths, saved, relu, d_out, d_hn, d_cn):
    """Returns (dxp, dhp, dh0, dc0, h_norms, c_norms, extra grads)."""
    gates, cs, tcs = saved
    dh, dc = d_hn.copy(), d_cn.copy()
    da = np.empty_like(gates)
    dw_p = np.empty((3, dh.shape[1]))
    h_norms = np.empty(out.shape[0], out.dtype)
    c_norms = np.empty_like(h_norms)
    peephole_backward(p["weight_hh"], p["weight_peephole"], c0, gates, cs, tcs, lengths, d_out, dh, dc, da,
                      dw_p, h_norms, c_norms)
    return da, da, dh, dc, h_norms, c_norms, {"weight_peephole": dw_p.astype(out.dtype)}
