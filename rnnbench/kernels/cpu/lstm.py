"""LSTM (gate order i, f, g, o) forward and backward kernels.

    i, f, o = s(xp + hp);  g = tanh(xp_g + hp_g);  c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)

with hp = W_hh h_{t-1} + b_hh. Each kernel runs the whole sequence for batch rows lo:hi. The forward
overwrites xp with the activated gates and stores c_t per step for the backward.
"""
import numpy as np
from numba import njit

from rnnbench.kernels.cpu.gemm import matmul_rows, pack
from rnnbench.kernels.cpu._common import KERNEL, norms, run_blocks, sigmoid, sq_row, tanh


@njit(**KERNEL)
def lstm_forward(lo, hi, xp, w_hhT, b_ih, b_hh, h0, c0, lengths, out, h, c, cs):
    # xp: (T, B, 4H) in: input projection W_ih x, out: gates (i, f, g, o); w_hhT: (P, H, NR) = pack(W_hh^T)
    # b_ih, b_hh: (4H,); h0, c0: (B, H); lengths: (B,)
    # written for rows lo:hi: out (T, B, H); h, c (B, H) final states; cs (T, B, H) the cell states c_t
    T, _, G = xp.shape
    H = G // 4
    zero = xp.dtype.type(0)
    hp = np.empty((hi - lo, w_hhT.shape[0] * w_hhT.shape[2]), xp.dtype)
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
                for j in range(2 * H):
                    x[j] = sigmoid(x[j] + a[j] + b_ih[j] + b_hh[j])
                for j in range(2 * H, 3 * H):
                    x[j] = tanh(x[j] + a[j] + b_ih[j] + b_hh[j])
                for j in range(3 * H, G):
                    x[j] = sigmoid(x[j] + a[j] + b_ih[j] + b_hh[j])
                for j in range(H):
                    cn[j] = x[H + j] * cb[j] + x[j] * x[2 * H + j]
                for j in range(H):
                    o[j] = x[3 * H + j] * tanh(cn[j])
                cb[:] = cn
                h[b] = o
            else:
                o[:] = zero


@njit(**KERNEL)
def lstm_backward(lo, hi, w_hh, c0, gates, cs, lengths, d_out, dh, dc, da, h_sq, c_sq):
    # w_hh: (P, 4H, NR) = pack(W_hh); c0: (B, H); gates: (T, B, 4H); cs: (T, B, H); lengths: (B,); d_out: (T, B, H)
    # dh, dc: (B, H) in dL/dh_n, dL/dc_n, out dL/dh0, dL/dc0
    # written for rows lo:hi: da (T, B, 4H) dL/d(pre-activations); h_sq, c_sq (T, B) squared row norms
    T, _, H = cs.shape
    zero = cs.dtype.type(0)
    one = cs.dtype.type(1)
    dh_prev = np.empty((hi - lo, w_hh.shape[0] * w_hh.shape[2]), cs.dtype)
    tc = np.empty(H, cs.dtype)          # tanh(c_t), recomputed: cheaper than storing and reloading it
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
                for j in range(H):
                    d[j] += dy[j]
                for j in range(H):
                    tc[j] = tanh(cn[j])
                for j in range(H):
                    dcb[j] += d[j] * g[3 * H + j] * (one - tc[j] * tc[j])
                for j in range(H):
                    i = g[j]
                    f = g[H + j]
                    gg = g[2 * H + j]
                    o = g[3 * H + j]
                    dab[j] = dcb[j] * gg * i * (one - i)
                    dab[H + j] = dcb[j] * cp[j] * f * (one - f)
                    dab[2 * H + j] = dcb[j] * i * (one - gg * gg)
                    dab[3 * H + j] = d[j] * tc[j] * o * (one - o)
                h_sq[t, b] = sq_row(d)
                c_sq[t, b] = sq_row(dcb)
                for j in range(H):
                    dcb[j] *= g[H + j]
            else:
                h_sq[t, b] = sq_row(d)
                c_sq[t, b] = sq_row(dcb)
                dab[:] = zero
        matmul_rows(da[t], lo, hi, w_hh, dh_prev)
        for b in range(lo, hi):
            if t < lengths[b]:
                dh[b] = dh_prev[b - lo, :H]


def allocate_forward(xp, h0):
    """Output buffers shared with the peephole cell: out, h, c, cs."""
    T, B, H = xp.shape[0], xp.shape[1], h0.shape[1]
    return np.empty((T, B, H), xp.dtype), np.empty_like(h0), np.empty_like(h0), np.empty((T, B, H), xp.dtype)


def backward_buffers(out, d_hn, d_cn):
    """dh, dc (copies: the kernels update them in place), da (T, B, 4H), h_sq, c_sq (T, B)."""
    T, B, H = out.shape
    return (d_hn.copy(), d_cn.copy(), np.empty((T, B, 4 * H), out.dtype), np.empty((T, B)),
            np.empty((T, B)))


def forward(p, xp, h0, c0, lengths, relu):
    """Returns (out, h_n, c_n, saved); xp becomes the saved gates."""
    out, h, c, cs = bufs = allocate_forward(xp, h0)
    run_blocks(lstm_forward, h0.shape[0], xp, pack(p["weight_hh"].T), p["bias_ih"], p["bias_hh"], h0, c0,
               lengths, *bufs)
    return out, h, c, (xp, cs)


def backward(p, out, h0, c0, lengths, saved, relu, d_out, d_hn, d_cn):
    """Returns (dxp, dhp, dh0, dc0, h_norms, c_norms, extra grads)."""
    dh, dc, da, h_sq, c_sq = bufs = backward_buffers(out, d_hn, d_cn)
    run_blocks(lstm_backward, out.shape[1], pack(p["weight_hh"]), c0, *saved, lengths, d_out, *bufs)
    return da, da, dh, dc, norms(h_sq).astype(out.dtype), norms(c_sq).astype(out.dtype), {}
