"""GRU ("reset after", gate order r, z, n) forward and backward kernels.

    r = s(xp_r + hp_r);  z = s(xp_z + hp_z);  n = tanh(xp_n + r * hp_n);  h_t = (1 - z) * n + z * h_{t-1}

with hp = W_hh h_{t-1} + b_hh. Each kernel runs the whole sequence for batch rows lo:hi. The forward
overwrites xp with the gates (r, z, n) and stores hp_n per step for the backward.
"""
import numpy as np
from numba import njit

from rnnbench.kernels.cpu._common import KERNEL, norms, run_blocks, sigmoid, sq_row, tanh


@njit(**KERNEL)
def gru_forward(lo, hi, xp, w_hhT, b_hh, h0, lengths, out, h, hpn):
    # xp: (T, B, 3H) in: input projection, out: gates (r, z, n); w_hhT: (H, 3H) = W_hh^T; b_hh: (3H,)
    # h0: (B, H); lengths: (B,); written for rows lo:hi: out (T, B, H), h (B, H) final state, hpn (T, B, H)
    T, _, G = xp.shape
    H = G // 3
    zero = xp.dtype.type(0)
    one = xp.dtype.type(1)
    hp = np.empty((hi - lo, G), xp.dtype)
    h[lo:hi] = h0[lo:hi]
    for t in range(T):
        np.dot(h[lo:hi], w_hhT, hp)
        for b in range(lo, hi):
            if t < lengths[b]:
                k = b - lo
                for j in range(H):
                    r = sigmoid(xp[t, b, j] + hp[k, j] + b_hh[j])
                    z = sigmoid(xp[t, b, H + j] + hp[k, H + j] + b_hh[H + j])
                    hn = hp[k, 2 * H + j] + b_hh[2 * H + j]
                    n = tanh(xp[t, b, 2 * H + j] + r * hn)
                    v = (one - z) * n + z * h[b, j]
                    xp[t, b, j] = r
                    xp[t, b, H + j] = z
                    xp[t, b, 2 * H + j] = n
                    hpn[t, b, j] = hn
                    out[t, b, j] = v
                    h[b, j] = v
            else:
                out[t, b, :] = zero


@njit(**KERNEL)
def gru_backward(lo, hi, w_hh, h0, out, gates, hpn, lengths, d_out, dh, dxp, dhp, h_sq):
    # w_hh: (3H, H); h0: (B, H); out: (T, B, H); gates: (T, B, 3H) (r, z, n); hpn: (T, B, H); lengths: (B,)
    # d_out: (T, B, H); dh: (B, H) in dL/dh_n, out dL/dh0
    # written for rows lo:hi: dxp, dhp (T, B, 3H) dL/d(input, recurrent pre-activations); h_sq (T, B)
    T, _, H = out.shape
    zero = out.dtype.type(0)
    one = out.dtype.type(1)
    dh_prev = np.empty((hi - lo, H), out.dtype)
    for t in range(T - 1, -1, -1):
        hprev = h0 if t == 0 else out[t - 1]
        for b in range(lo, hi):
            if t < lengths[b]:
                s = 0.0
                for j in range(H):
                    d = dh[b, j] + d_out[t, b, j]
                    dh[b, j] = d
                    s += d * d
                    r = gates[t, b, j]
                    z = gates[t, b, H + j]
                    n = gates[t, b, 2 * H + j]
                    dn = d * (one - z) * (one - n * n)
                    dz = d * (hprev[b, j] - n) * z * (one - z)
                    dr = dn * hpn[t, b, j] * r * (one - r)
                    dxp[t, b, j] = dr
                    dxp[t, b, H + j] = dz
                    dxp[t, b, 2 * H + j] = dn
                    dhp[t, b, j] = dr
                    dhp[t, b, H + j] = dz
                    dhp[t, b, 2 * H + j] = dn * r
                h_sq[t, b] = s
            else:
                h_sq[t, b] = sq_row(dh[b])
                dxp[t, b, :] = zero
                dhp[t, b, :] = zero
        np.dot(dhp[t, lo:hi], w_hh, dh_prev)
        for b in range(lo, hi):
            if t < lengths[b]:
                for j in range(H):
                    dh[b, j] = dh_prev[b - lo, j] + dh[b, j] * gates[t, b, H + j]


def forward(p, xp, h0, c0, lengths, relu):
    """Returns (out, h_n, c_n, saved); xp becomes the saved gates."""
    out = np.empty(xp.shape[:2] + h0.shape[1:], xp.dtype)
    h = np.empty_like(h0)
    hpn = np.empty_like(out)
    run_blocks(gru_forward, h0.shape[0], xp, np.ascontiguousarray(p["weight_hh"].T), p["bias_hh"], h0,
               lengths, out, h, hpn)
    return out, h, None, (xp, hpn)


def backward(p, out, h0, c0, lengths, saved, relu, d_out, d_hn, d_cn):
    """Returns (dxp, dhp, dh0, dc0, h_norms, c_norms, extra grads)."""
    gates, hpn = saved
    T, B, _ = out.shape
    dh = d_hn.copy()
    dxp = np.empty_like(gates)
    dhp = np.empty_like(gates)
    h_sq = np.empty((T, B))
    run_blocks(gru_backward, B, p["weight_hh"], h0, out, gates, hpn, lengths, d_out, dh, dxp, dhp, h_sq)
    return dxp, dhp, dh, None, norms(h_sq).astype(out.dtype), None, {}
