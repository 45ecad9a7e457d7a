"""Vanilla RNN (tanh or relu) forward and backward kernels: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh).

Each kernel runs the whole sequence for batch rows lo:hi (see _common.run_blocks); the forward computes
W_ih x_t + W_hh h_{t-1} as one product per step. It keeps no extra state: the backward reads act'(.) off
the outputs themselves.
"""
import numpy as np
from numba import njit

from rnnbench.kernels.cpu._common import KERNEL, norms, pack_backward, run_blocks, row_norm, stacked_weights, tanh
from rnnbench.kernels.cpu.gemm import matmul_rows, pack, project, step_buffers, width


@njit(**KERNEL)
def rnn_forward(lo, hi, x, w, bias, h0, lengths, relu, out, h):
    # x: (T, B, I); w = pack([W_ih^T; W_hh^T]), the weights of z_t = [x_t | h_{t-1}]; bias: (H,) b_ih + b_hh
    # h0: (B, H); lengths: (B,); written for rows lo:hi: out (T, B, H), h (B, H) the final (carried) state
    T, _, I = x.shape
    H = h0.shape[1]
    zero = x.dtype.type(0)
    z, pre = step_buffers(x, h0, w, lo, hi)
    for t in range(T):
        project(x, t, lo, hi, z, w, pre)
        for b in range(lo, hi):
            o = out[t, b]
            if t < lengths[b]:
                a = pre[b - lo]
                if relu:
                    for j in range(H):
                        o[j] = max(a[j] + bias[j], zero)
                else:
                    for j in range(H):
                        o[j] = tanh(a[j] + bias[j])
                z[b - lo, I:] = o
            else:
                o[:] = zero
    h[lo:hi] = z[:, I:]


@njit(**KERNEL)
def rnn_backward(lo, hi, w, xo, out, lengths, relu, d_out, dh, dpre, dx, h_rn):
    # w, xo = pack_backward(p); out: (T, B, H) forward outputs; lengths: (B,); d_out: (T, B, H)
    # dh: (B, H) in dL/dh_n, out dL/dh0; written for rows lo:hi: dpre (T, B, H) dL/d(pre-activation),
    # dx (T, B, I), h_rn (T, B) ||dL/dh_t[b]||
    T, _, H = out.shape
    I = dx.shape[2]
    zero = out.dtype.type(0)
    one = out.dtype.type(1)
    back = np.empty((hi - lo, width(w)), out.dtype)
    for t in range(T - 1, -1, -1):
        for b in range(lo, hi):
            d = dh[b]
            p = dpre[t, b]
            if t < lengths[b]:
                y = out[t, b]
                dy = d_out[t, b]
                for j in range(H):
                    d[j] += dy[j]
                if relu:
                    for j in range(H):
                        p[j] = d[j] if y[j] > zero else zero
                else:
                    for j in range(H):
                        p[j] = d[j] * (one - y[j] * y[j])
            else:
                p[:] = zero
            h_rn[t, b] = row_norm(d)
        matmul_rows(dpre[t], lo, hi, w, back)
        for b in range(lo, hi):
            dx[t, b] = back[b - lo, xo:xo + I]
            if t < lengths[b]:
                dh[b] = back[b - lo, :H]


def forward(cell, p, x, h0, c0, lengths, relu, keep):
    """Returns (out, h_n, c_n, saved): the backward reads everything it needs off the outputs."""
    out = np.empty(x.shape[:2] + h0.shape[1:], x.dtype)
    h = np.empty_like(h0)
    run_blocks(rnn_forward, h0.shape[0], x, pack(stacked_weights(p)), p["bias_ih"] + p["bias_hh"], h0, lengths,
               relu, out, h)
    return out, h, None, None


def backward(cell, p, out, h0, c0, lengths, saved, relu, d_out, d_hn, d_cn):
    """Returns (da, dxn, dx, dh0, dc0, h_norms, c_norms, extra grads): dxn None, see weight_grads."""
    T, B, _ = out.shape
    dh = d_hn.copy()
    dpre = np.empty_like(out)
    dx = np.empty((T, B, p["weight_ih"].shape[1]), out.dtype)
    h_rn = np.empty((T, B))
    run_blocks(rnn_backward, B, *pack_backward(p), out, lengths, relu, d_out, dh, dpre, dx, h_rn)
    return dpre, None, dx, dh, None, norms(h_rn).astype(out.dtype), None, {}
