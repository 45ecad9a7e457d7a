"""GRU ("reset after", gate order r, z, n) forward and backward kernels.

    r = s(xp_r + hp_r);  z = s(xp_z + hp_z);  n = tanh(xp_n + r * hp_n);  h_t = (1 - z) * n + z * h_{t-1}

with hp = W_hh h_{t-1} + b_hh. The forward stores (r, z, n) and hp_n per step for the backward.
"""
import numpy as np
from numba import njit

from rnnbench.kernels.cpu._common import sigmoid, sq_sum


@njit(cache=True)
def gru_forward(xp, w_hhT, b_hh, h0, lengths, out, h, gates, hpn):
    # xp: (T, B, 3H); w_hhT: (H, 3H) = W_hh^T; b_hh: (3H,); h0: (B, H); lengths: (B,)
    # out: (T, B, H), h: (B, H) final state, gates: (T, B, 3H) (r, z, n), hpn: (T, B, H) all written
    T, B, G = xp.shape
    H = G // 3
    zero = xp.dtype.type(0)
    one = xp.dtype.type(1)
    hp = np.empty((B, G), xp.dtype)
    h[:] = h0
    for t in range(T):
        np.dot(h, w_hhT, hp)
        for b in range(B):
            if t < lengths[b]:
                for j in range(H):
                    r = sigmoid(xp[t, b, j] + hp[b, j] + b_hh[j], one)
                    z = sigmoid(xp[t, b, H + j] + hp[b, H + j] + b_hh[H + j], one)
                    hn = hp[b, 2 * H + j] + b_hh[2 * H + j]
                    n = np.tanh(xp[t, b, 2 * H + j] + r * hn)
                    v = (one - z) * n + z * h[b, j]
                    gates[t, b, j] = r
                    gates[t, b, H + j] = z
                    gates[t, b, 2 * H + j] = n
                    hpn[t, b, j] = hn
                    out[t, b, j] = v
                    h[b, j] = v
            else:
                out[t, b, :] = zero


@njit(cache=True)
def gru_backward(w_hh, h0, out, gates, hpn, lengths, d_out, dh, dxp, dhp, h_norms):
    # w_hh: (3H, H); h0: (B, H); out: (T, B, H); gates: (T, B, 3H); hpn: (T, B, H); lengths: (B,)
    # d_out: (T, B, H); dh: (B, H) in dL/dh_n, out dL/dh0; dxp, dhp: (T, B, 3H) written; h_norms: (T,)
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
        hprev = h0 if t == 0 else out[t - 1]
        for b in range(B):
            if t < lengths[b]:
                for j in range(H):
                    r = gates[t, b, j]
                    z = gates[t, b, H + j]
                    n = gates[t, b, 2 * H + j]
                    d = dh[b, j]
                    dn = d * (one - z) * (one - n * n)
                    dz = d * (hprev[b, j] - n) * z * (one - z)
                    dr = dn * hpn[t, b, j] * r * (one - r)
                    dxp[t, b, j] = dr
                    dxp[t, b, H + j] = dz
                    dxp[t, b, 2 * H + j] = dn
                    dhp[t, b, j] = dr
                    dhp[t, b, H + j] = dz
                    dhp[t, b, 2 * H + j] = dn * r
            else:
                dxp[t, b, :] = zero
                dhp[t, b, :] = zero
        np.dot(dhp[t], w_hh, dh_prev)
        for b in range(B):
            if t < lengths[b]:
                for j in range(H):
                    dh[b, j] = dh_prev[b, j] + dh[b, j] * gates[t, b, H + j]


def forward(p, xp, h0, c0, lengths, relu):
    """Returns (out, h_n, c_n, saved)."""
    T, B, H = xp.shape[0], xp.shape[1], h0.shape[1]
    out = np.empty((T, B, H), xp.dtype)
    h = np.empty_like(h0)
    gates = np.empty_like(xp)
    hpn = np.empty_like(out)
    gru_forward(xp, np.ascontiguousarray(p["weight_hh"].T), p["bias_hh"], h0, lengths, out, h, gates, hpn)
    return out, h, None, (gates, hpn)


def backward(p, out, h0, c0, lengths, saved, relu, d_out, d_hn, d_cn):
    """Returns (dxp, dhp, dh0, dc0, h_norms, c_norms, extra grads)."""
    gates, hpn = saved
    dh = d_hn.copy()
    dxp = np.empty_like(gates)
    dhp = np.empty_like(gates)
    h_norms = np.empty(out.shape[0], out.dtype)
    gru_backward(p["weight_hh"], h0, out, gates, hpn, lengths, d_out, dh, dxp, dhp, h_norms)
    return dxp, dhp, dh, None, h_norms, None, {}
