"""Peephole LSTM (Gers, Schraudolph & Schmidhuber 2002; gate order i, f, g, o) forward and backward kernels.

    i = s(a_i + p_i * c_{t-1});  f = s(a_f + p_f * c_{t-1});  g = tanh(a_g);  c_t = f * c_{t-1} + i * g
    o = s(a_o + p_o * c_t);  h_t = o * tanh(c_t)

with a = xp + W_hh h_{t-1} + b_hh and p = weight_peephole (3, H). Saved state and blocks as for lstm.
"""
import numpy as np
from numba import njit

from rnnbench.kernels.cpu.gemm import matmul_rows, pack
from rnnbench.kernels.cpu._common import KERNEL, norms, run_blocks, sigmoid, sq_row, tanh
from rnnbench.kernels.cpu.lstm import allocate_forward, backward_buffers


@njit(**KERNEL)
def peephole_forward(lo, hi, xp, w_hhT, b_ih, b_hh, w_p, h0, c0, lengths, out, h, c, cs):
    # xp: (T, B, 4H) in: input projection W_ih x, out: gates (i, f, g, o); w_hhT: (P, H, NR) = pack(W_hh^T)
    # b_ih, b_hh: (4H,); w_p: (3, H); h0, c0: (B, H); lengths: (B,)
    # written for rows lo:hi: out (T, B, H); h, c (B, H) final states; cs (T, B, H) the cell states c_t
    T, _, G = xp.shape
    H = G // 4
    zero = xp.dtype.type(0)
    hp = np.empty((hi - lo, w_hhT.shape[0] * w_hhT.shape[2]), xp.dtype)
    p_i, p_f, p_o = w_p[0], w_p[1], w_p[2]
    h[lo:hi] = h0[lo:hi]
    c[lo:hi] = c0[lo:hi]
    for t in range(T):
        matmul_rows(h, lo, hi, w_hhT, hp)
        for b in range(lo, hi):
            o = out[t, b]
            if t < lengths[b]:
                x = xp[t, b]
                a = hp[b - lo]
                cb = c[b]
                cn = cs[t, b]
                for j in range(H):
                    x[j] = sigmoid(x[j] + a[j] + b_ih[j] + b_hh[j] + p_i[j] * cb[j])
                for j in range(H):
                    x[H + j] = sigmoid(x[H + j] + a[H + j] + b_ih[H + j] + b_hh[H + j] + p_f[j] * cb[j])
                for j in range(2 * H, 3 * H):
                    x[j] = tanh(x[j] + a[j] + b_ih[j] + b_hh[j])
                for j in range(H):
                    cn[j] = x[H + j] * cb[j] + x[j] * x[2 * H + j]
                for j in range(H):
                    x[3 * H + j] = sigmoid(x[3 * H + j] + a[3 * H + j] + b_ih[3 * H + j] + b_hh[3 * H + j] + p_o[j] * cn[j])
                for j in range(H):
                    o[j] = x[3 * H + j] * tanh(cn[j])
                cb[:] = cn
                h[b] = o
            else:
                o[:] = zero


@njit(**KERNEL)
def peephole_backward(lo, hi, w_hh, w_p, c0, gates, cs, lengths, d_out, dh, dc, da, h_sq, c_sq, dw_p):
    # w_hh: (P, 4H, NR) = pack(W_hh); w_p: (3, H); c0: (B, H); gates: (T, B, 4H); cs: (T, B, H); lengths: (B,)
    # d_out: (T, B, H); dh, dc: (B, H) in dL/dh_n, dL/dc_n, out dL/dh0, dL/dc0
    # written for rows lo:hi: da (T, B, 4H); h_sq, c_sq (T, B) squared row norms; dw_p (B, 3, H) per-row grads
    T, _, H = cs.shape
    zero = cs.dtype.type(0)
    one = cs.dtype.type(1)
    dh_prev = np.empty((hi - lo, w_hh.shape[0] * w_hh.shape[2]), cs.dtype)
    tc = np.empty(H, cs.dtype)          # tanh(c_t), recomputed: cheaper than storing and reloading it
    p_i, p_f, p_o = w_p[0], w_p[1], w_p[2]
    dw_p[lo:hi] = 0.0
    for t in range(T - 1, -1, -1):
        cprev = c0 if t == 0 else cs[t - 1]
        for b in range(lo, hi):
            d = dh[b]
            dcb = dc[b]
            dab = da[t, b]
            if t < lengths[b]:
                g = gates[t, b]
                cn = cs[t, b]
                cp = cprev[b]
                dy = d_out[t, b]
                dw = dw_p[b]
                for j in range(H):
                    d[j] += dy[j]
                for j in range(H):
                    tc[j] = tanh(cn[j])
                for j in range(H):
                    o = g[3 * H + j]
                    dab[3 * H + j] = d[j] * tc[j] * o * (one - o)
                for j in range(H):
                    dcb[j] += d[j] * g[3 * H + j] * (one - tc[j] * tc[j]) + dab[3 * H + j] * p_o[j]
                for j in range(H):
                    i = g[j]
                    f = g[H + j]
                    gg = g[2 * H + j]
                    dab[j] = dcb[j] * gg * i * (one - i)
                    dab[H + j] = dcb[j] * cp[j] * f * (one - f)
                    dab[2 * H + j] = dcb[j] * i * (one - gg * gg)
                for j in range(H):
                    dw[0, j] += dab[j] * cp[j]
                    dw[1, j] += dab[H + j] * cp[j]
                    dw[2, j] += dab[3 * H + j] * cn[j]
                h_sq[t, b] = sq_row(d)
                c_sq[t, b] = sq_row(dcb)
                for j in range(H):
                    dcb[j] = dcb[j] * g[H + j] + dab[j] * p_i[j] + dab[H + j] * p_f[j]
            else:
                h_sq[t, b] = sq_row(d)
                c_sq[t, b] = sq_row(dcb)
                dab[:] = zero
        matmul_rows(da[t], lo, hi, w_hh, dh_prev)
        for b in range(lo, hi):
            if t < lengths[b]:
                dh[b] = dh_prev[b - lo, :H]


def forward(p, xp, h0, c0, lengths, relu):
    """Returns (out, h_n, c_n, saved); xp becomes the saved gates."""
    out, h, c, cs = bufs = allocate_forward(xp, h0)
    run_blocks(peephole_forward, h0.shape[0], xp, pack(p["weight_hh"].T), p["bias_ih"], p["bias_hh"],
               p["weight_peephole"], h0, c0, lengths, *bufs)
    return out, h, c, (xp, cs)


def backward(p, out, h0, c0, lengths, saved, relu, d_out, d_hn, d_cn):
    """Returns (dxp, dhp, dh0, dc0, h_norms, c_norms, extra grads)."""
    dh, dc, da, h_sq, c_sq = bufs = backward_buffers(out, d_hn, d_cn)
    dw_p = np.empty((out.shape[1], 3, out.shape[2]))
    run_blocks(peephole_backward, out.shape[1], pack(p["weight_hh"]), p["weight_peephole"], c0, *saved, lengths,
               d_out, *bufs, dw_p)
    grads = {"weight_peephole": dw_p.sum(0).astype(out.dtype)}
    return da, da, dh, dc, norms(h_sq).astype(out.dtype), norms(c_sq).astype(out.dtype), grads
