"""GRU ("reset after", gate order r, z, n) forward and backward kernels.

    r = s(xp_r + hp_r);  z = s(xp_z + hp_z);  n = tanh(xp_n + r * hp_n);  h_t = (1 - z) * n + z * h_{t-1}

with xp = W_ih x_t + b_ih and hp = W_hh h_{t-1} + b_hh. Each kernel runs the whole sequence for batch rows
lo:hi; the forward gets all of xp and hp from one product per step and stores the gates (r, z, n) and hp_n
for the backward.
"""
import numpy as np
from numba import njit

from rnnbench.backend import LayerGrads
from rnnbench.kernels.cpu._common import (KERNEL, KernelForward, input_grad_buffer, norms, row_norm,
                                          row_norms, run_blocks, sigmoid, tanh, weight_grads)
from rnnbench.kernels.cpu.gemm import (copy_row, matmul_rows, pack, padded, product_buffer, project,
                                       step_buffers, turned)
from rnnbench.kernels.cpu.workspace import aligned, copy, empty


@njit(**KERNEL)
def gru_forward(lo, hi, x, w, nx, nh, bias, b_hn, h0, lengths, out, h, gates, hpn):
    # x: (T, B, I); w = pack_weights(p): one product of z_t = [x_t | h_{t-1}] gives, at column offsets
    # 0 | nx | nh, a_rz = W_ir,z x + W_hr,z h, W_in x and W_hn h; bias: (3H,) b_ih + b_hh for
    # r, z and b_in for n; b_hn: (H,); h0: (B, H); lengths: (B,)
    # written for rows lo:hi: out (T, B, H), h (B, H) final state; gates (Ts, B, 3H) r, z, n and hpn (Ts, B,
    # H)
    # W_hn h + b_hn, with Ts = T (kept for the backward) or 1 (inference: overwritten every step)
    T, _, I = x.shape
    H = h0.shape[1]
    keep = gates.shape[0] == T
    zero = x.dtype.type(0)
    one = x.dtype.type(1)
    z, pre = step_buffers(x, h0, w, lo, hi)
    for t in range(T):
        project(x, t, lo, hi, z, w, pre)
        ts = t if keep else 0
        for b in range(lo, hi):
            out_row = out[t, b]
            if t < lengths[b]:
                a = pre[b - lo]
                gate_row = gates[ts, b]
                hn = hpn[ts, b]
                hb = z[b - lo, I:]
                for j in range(2 * H):
                    gate_row[j] = sigmoid(a[j] + bias[j])
                for j in range(H):
                    hn[j] = a[nh + j] + b_hn[j]
                    gate_row[2 * H + j] = tanh(a[nx + j] + bias[2 * H + j] + gate_row[j] * hn[j])
                    zz = gate_row[H + j]
                    out_row[j] = (one - zz) * gate_row[2 * H + j] + zz * hb[j]
                copy_row(hb, out_row)
            else:
                out_row[:] = zero
    h[lo:hi] = z[:, I:]


def pack_weights(p):
    """pack of [W_ih^T; W_hh^T] in three sections (r and z over all of z_t, n over x_t only, n over h_t only)
    and the column offsets nx, nh of the two n sections in the product (each section starts a panel)."""
    w_ih, w_hh = p["weight_ih"].T, p["weight_hh"].T
    I, H = w_ih.shape[0], w_hh.shape[0]
    nx = padded(2 * H, w_hh.dtype)
    # columns [r z n | n]: the n gate's columns twice, the sections keep x_t's rows of one, h_t's of the other
    blocks = [[w_ih, w_ih[:, 2 * H:]], [w_hh, w_hh[:, 2 * H:]]]
    return pack(blocks, [(2 * H, 0, I + H), (H, 0, I), (H, I, I + H)]), nx, nx + padded(H, w_hh.dtype)


@njit(**KERNEL)
def gru_backward(lo, hi, w_hh, w_ih, h0, out, gates, hpn, lengths, d_out, dh, dhp, dxn, dx, h_rn):
    # w_hh, w_ih = pack(W_hh), pack(W_ih); h0: (B, H); out: (T, B, H); gates: (T, B, 3H) (r, z, n)
    # hpn: (T, B, H); lengths: (B,); d_out: (T, B, H); dh: (B, H) in dL/dh_n, out dL/dh0
    # written for rows lo:hi: dhp (T, B, 3H) dL/d(recurrent pre-activations); dxn (T, B, H) the n gate's
    # dL/d(input pre-activation) (for r and z it equals dhp's); dx (T, B, I); h_rn (T, B), or (0, 0): none
    T, _, H = out.shape
    zero = out.dtype.type(0)
    with_norms = h_rn.shape[0] > 0
    one = out.dtype.type(1)
    I = dx.shape[2]
    dh_prev = product_buffer(hi - lo, w_hh, out)
    dx_t = product_buffer(hi - lo, w_ih, out)
    dxs = np.empty((hi - lo, 3 * H), out.dtype)     # this step's input-side grads: only its n part is kept
    for t in range(T - 1, -1, -1):
        hprev = h0 if t == 0 else out[t - 1]
        for b in range(lo, hi):
            d = dh[b]
            dxp_row = dxs[b - lo]       # dL/d(input-side pre-activations) of r, z, n
            dhp_row = dhp[t, b]         # dL/d(recurrent-side pre-activations) of r, z, n
            if t < lengths[b]:
                gate_row = gates[t, b]
                hn = hpn[t, b]
                hb = hprev[b]
                dy = d_out[t, b]
                for j in range(H):
                    d[j] += dy[j]
                for j in range(H):
                    r = gate_row[j]
                    z = gate_row[H + j]
                    n = gate_row[2 * H + j]
                    dn = d[j] * (one - z) * (one - n * n)
                    dxp_row[j] = dn * hn[j] * r * (one - r)
                    dxp_row[H + j] = d[j] * (hb[j] - n) * z * (one - z)
                    dxp_row[2 * H + j] = dn
                for j in range(2 * H):
                    dhp_row[j] = dxp_row[j]
                for j in range(H):
                    dhp_row[2 * H + j] = dxp_row[2 * H + j] * gate_row[j]
            else:
                dxp_row[:] = zero
                dhp_row[:] = zero
            dxn[t, b] = dxp_row[2 * H:]
            if with_norms:
                h_rn[t, b] = row_norm(d)
        matmul_rows(dhp[t], lo, hi, w_hh, dh_prev, turned(t))
        if I:
            matmul_rows(dxs, 0, hi - lo, w_ih, dx_t, turned(t))
        for b in range(lo, hi):
            copy_row(dx[t, b], dx_t[b - lo, :I])
            if t < lengths[b]:
                d = dh[b]
                gate_row = gates[t, b]
                dp = dh_prev[b - lo]
                for j in range(H):
                    d[j] = dp[j] + d[j] * gate_row[H + j]


def forward(cell, p, x, h0, c0, lengths, relu, keep):
    """KernelForward, saved = (gates, hpn) for the backward."""
    T, B, _ = x.shape
    H = h0.shape[1]
    out = empty((T, B, H), x.dtype)
    h = empty(h0.shape, h0.dtype)
    Ts = T if keep else 1
    gates, hpn = empty((Ts, B, 3 * H), x.dtype), empty((Ts, B, H), x.dtype)
    b_ih, b_hh = p["bias_ih"], p["bias_hh"]
    bias = aligned(np.concatenate([b_ih[:2 * H] + b_hh[:2 * H], b_ih[2 * H:]]))
    w, nx, nh = pack_weights(p)
    run_blocks(gru_forward, B, x=x, w=w, nx=nx, nh=nh, bias=bias, b_hn=aligned(b_hh[2 * H:]), h0=h0,
               lengths=lengths, out=out, h=h, gates=gates, hpn=hpn)
    return KernelForward(out, h, None, (gates, hpn))


def backward(cell, p, x, out, h0, c0, lengths, saved, relu, d_out, d_hn, d_cn, grad_norms=True,
             input_grad=True):
    """LayerGrads; the weight gradients from dhp, the n gate's input side from dxn (weight_grads)."""
    gates, hpn = saved
    T, B, H = out.shape
    dh = copy(d_hn)                     # the kernel updates it in place
    dhp = empty(gates.shape, gates.dtype)
    dxn = empty(out.shape, out.dtype)
    h_rn = row_norms(T, B, grad_norms)
    dx = input_grad_buffer(T, B, p["weight_ih"].shape[1], out.dtype, input_grad)
    run_blocks(gru_backward, B, w_hh=pack(p["weight_hh"]), w_ih=pack(p["weight_ih"]), h0=h0, out=out,
               gates=gates, hpn=hpn, lengths=lengths, d_out=d_out, dh=dh, dhp=dhp, dxn=dxn, dx=dx, h_rn=h_rn)
    return LayerGrads(weight_grads(p, x, h0, out, dhp, dxn), dx if input_grad else None, dh, None,
                      norms(h_rn, out.dtype), None)
