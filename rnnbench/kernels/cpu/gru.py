"""GRU ("reset after", gate order r, z, n) forward and backward kernels.

    r = s(xp_r + hp_r);  z = s(xp_z + hp_z);  n = tanh(xp_n + r * hp_n);  h_t = (1 - z) * n + z * h_{t-1}

with hp = W_hh h_{t-1} + b_hh. Each kernel runs the whole sequence for batch rows lo:hi. The forward
overwrites xp with the gates (r, z, n) and stores hp_n per step for the backward.
"""
import numpy as np
from numba import njit

from rnnbench.kernels.cpu.gemm import matmul_rows, pack
from rnnbench.kernels.cpu._common import KERNEL, norms, run_blocks, sigmoid, sq_row, tanh


@njit(**KERNEL)
def gru_forward(lo, hi, xp, w_hhT, b_ih, b_hh, h0, lengths, out, h, hpn):
    # xp: (T, B, 3H) in: input projection W_ih x, out: gates (r, z, n); w_hhT: (P, H, NR) = pack(W_hh^T)
    # b_ih, b_hh: (3H,)
    # h0: (B, H); lengths: (B,); written for rows lo:hi: out (T, B, H), h (B, H) final state, hpn (T, B, H)
    T, _, G = xp.shape
    H = G // 3
    zero = xp.dtype.type(0)
    one = xp.dtype.type(1)
    hp = np.empty((hi - lo, w_hhT.shape[0] * w_hhT.shape[2]), xp.dtype)
    h[lo:hi] = h0[lo:hi]
    for t in range(T):
        matmul_rows(h, lo, hi, w_hhT, hp)
        for b in range(lo, hi):
            o = out[t, b]
            if t < lengths[b]:
                x = xp[t, b]
                a = hp[b - lo]
                hn = hpn[t, b]
                hb = h[b]
                for j in range(2 * H):
                    x[j] = sigmoid(x[j] + a[j] + b_ih[j] + b_hh[j])
                for j in range(H):
                    hn[j] = a[2 * H + j] + b_hh[2 * H + j]
                for j in range(H):
                    x[2 * H + j] = tanh(x[2 * H + j] + b_ih[2 * H + j] + x[j] * hn[j])
                for j in range(H):
                    z = x[H + j]
                    o[j] = (one - z) * x[2 * H + j] + z * hb[j]
                hb[:] = o
            else:
                o[:] = zero


@njit(**KERNEL)
def gru_backward(lo, hi, w_hh, h0, out, gates, hpn, lengths, d_out, dh, dxp, dhp, h_sq):
    # w_hh: (P, 3H, NR) = pack(W_hh); h0: (B, H); out: (T, B, H); gates: (T, B, 3H) (r, z, n); hpn: (T, B, H); lengths: (B,)
    # d_out: (T, B, H); dh: (B, H) in dL/dh_n, out dL/dh0
    # written for rows lo:hi: dxp, dhp (T, B, 3H) dL/d(input, recurrent pre-activations); h_sq (T, B)
    T, _, H = out.shape
    zero = out.dtype.type(0)
    one = out.dtype.type(1)
    dh_prev = np.empty((hi - lo, w_hh.shape[0] * w_hh.shape[2]), out.dtype)
    for t in range(T - 1, -1, -1):
        hprev = h0 if t == 0 else out[t - 1]
        for b in range(lo, hi):
            d = dh[b]
            dx = dxp[t, b]
            dr = dhp[t, b]
            if t < lengths[b]:
                g = gates[t, b]
                hn = hpn[t, b]
                hb = hprev[b]
                dy = d_out[t, b]
                for j in range(H):
                    d[j] += dy[j]
                for j in range(H):
                    r = g[j]
                    z = g[H + j]
                    n = g[2 * H + j]
                    dn = d[j] * (one - z) * (one - n * n)
                    dx[j] = dn * hn[j] * r * (one - r)
                    dx[H + j] = d[j] * (hb[j] - n) * z * (one - z)
                    dx[2 * H + j] = dn
                for j in range(2 * H):
                    dr[j] = dx[j]
                for j in range(H):
                    dr[2 * H + j] = dx[2 * H + j] * g[j]
            else:
                dx[:] = zero
                dr[:] = zero
            h_sq[t, b] = sq_row(d)
        matmul_rows(dhp[t], lo, hi, w_hh, dh_prev)
        for b in range(lo, hi):
            if t < lengths[b]:
                d = dh[b]
                g = gates[t, b]
                dp = dh_prev[b - lo]
                for j in range(H):
                    d[j] = dp[j] + d[j] * g[H + j]


def forward(p, xp, h0, c0, lengths, relu):
    """Returns (out, h_n, c_n, saved); xp becomes the saved gates."""
    out = np.empty(xp.shape[:2] + h0.shape[1:], xp.dtype)
    h = np.empty_like(h0)
    hpn = np.empty_like(out)
    run_blocks(gru_forward, h0.shape[0], xp, pack(p["weight_hh"].T), p["bias_ih"], p["bias_hh"], h0,
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
    run_blocks(gru_backward, B, pack(p["weight_hh"]), h0, out, gates, hpn, lengths, d_out, dh, dxp, dhp, h_sq)
    return dxp, dhp, dh, None, norms(h_sq).astype(out.dtype), None, {}
