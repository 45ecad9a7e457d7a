"""IndRNN (Li et al. 2018) forward and backward kernels: h_t = act(W_ih x_t + b_ih + w_hh * h_{t-1} + b_hh).

The recurrence is elementwise (w_hh: (H,)), so there is no recurrent GEMM: per step, one packed-weight product
x_t W_ih^T for the block's rows, then one vectorized elementwise pass. Backward, per step, one elementwise
pass (dL/dh_{t-1} = w_hh * dL/dpre_t) and the product dL/dpre_t W_ih for dL/dx_t; the weight gradients are a
whole-sequence GEMM over [1 | x] and, for w_hh, per-row sums reduced in a fixed order. Each kernel runs the
whole sequence for batch rows lo:hi; like the vanilla RNN's, the backward reads act'(.) off the outputs.
"""
import numpy as np
from numba import njit

from rnnbench.backend import LayerGrads
from rnnbench.kernels.cpu._common import (KERNEL, KernelForward, activation_grad,
                                          input_grad_buffer, norms, row_norm, row_norms, run_blocks, tanh,
                                          thread_rows, transposed_products)
from rnnbench.kernels.cpu.gemm import copy_row, matmul_rows, pack, product_buffer, turned
from rnnbench.kernels.cpu.workspace import aligned, copy, empty


@njit(**KERNEL)
def indrnn_forward(lo, hi, x, w, w_hh, bias, h0, lengths, relu, out, h):
    # x: (T, B, I); w = pack(W_ih^T); w_hh: (H,); bias: (H,) b_ih + b_hh; h0: (B, H); lengths: (B,)
    # written for rows lo:hi: out (T, B, H), h (B, H) the final (carried) state
    T = x.shape[0]
    H = h0.shape[1]
    zero = x.dtype.type(0)
    state = h0[lo:hi].copy()                         # (rows, H) h_{t-1}
    pre = product_buffer(hi - lo, w, x)              # (rows, >= H) x_t W_ih^T
    for t in range(T):
        matmul_rows(x[t], lo, hi, w, pre, turned(t))
        for b in range(lo, hi):
            out_row = out[t, b]
            if t < lengths[b]:
                a = pre[b - lo]
                hb = state[b - lo]
                if relu:
                    for j in range(H):
                        out_row[j] = max(a[j] + bias[j] + w_hh[j] * hb[j], zero)
                else:
                    for j in range(H):
                        out_row[j] = tanh(a[j] + bias[j] + w_hh[j] * hb[j])
                copy_row(hb, out_row)
            else:
                out_row[:] = zero
    h[lo:hi] = state


@njit(**KERNEL)
def indrnn_backward(lo, hi, w, w_hh, h0, out, lengths, relu, d_out, dh, dpre, dx, h_rn, dw_hh):
    # w = pack(W_ih); w_hh: (H,); h0: (B, H); out: (T, B, H) forward outputs; lengths: (B,); d_out: (T, B, H)
    # dh: (B, H) in dL/dh_n, out dL/dh0; written for rows lo:hi: dpre (T, B, H) dL/d(pre-activation),
    # dx (T, B, I), h_rn (T, B) ||dL/dh_t[b]|| or (0, 0): none, dw_hh (B, H) per-row sums of dpre * h_{t-1}
    # (float64)
    T, _, H = out.shape
    I = dx.shape[2]
    zero = out.dtype.type(0)
    with_norms = h_rn.shape[0] > 0
    back = product_buffer(hi - lo, w, out)
    dw_hh[lo:hi] = 0.0
    for t in range(T - 1, -1, -1):
        hprev = h0 if t == 0 else out[t - 1]
        for b in range(lo, hi):
            d = dh[b]
            dpre_row = dpre[t, b]
            if t < lengths[b]:
                activation_grad(d, d_out[t, b], out[t, b], relu, dpre_row)
                if with_norms:
                    h_rn[t, b] = row_norm(d)
                hb = hprev[b]
                dw = dw_hh[b]
                for j in range(H):
                    dw[j] += dpre_row[j] * hb[j]
                    d[j] = dpre_row[j] * w_hh[j]
            else:
                dpre_row[:] = zero
                if with_norms:
                    h_rn[t, b] = row_norm(d)
        if I:
            matmul_rows(dpre[t], lo, hi, w, back, turned(t))
        for b in range(lo, hi):
            copy_row(dx[t, b], back[b - lo, :I])


def forward(cell, p, x, h0, c0, lengths, relu, keep):
    """KernelForward; saved None: the backward reads everything it needs off the outputs."""
    out = empty(x.shape[:2] + h0.shape[1:], x.dtype)
    h = empty(h0.shape, h0.dtype)
    w = pack(p["weight_ih"].T, rows=thread_rows(h0.shape[0]))
    run_blocks(indrnn_forward, h0.shape[0], x=x, w=w, w_hh=aligned(p["weight_hh"]),
               bias=aligned(p["bias_ih"] + p["bias_hh"]), h0=h0, lengths=lengths, relu=relu, out=out, h=h)
    return KernelForward(out, h, None, None)


def backward(cell, p, x, out, h0, c0, lengths, saved, relu, d_out, d_hn, d_cn, grad_norms=True,
             input_grad=True):
    """LayerGrads: weight_ih and both biases from one GEMM of dL/dpre with [1 | x], weight_hh from the
    kernel's per-row sums."""
    T, B, I = x.shape
    H = out.shape[2]
    dh = copy(d_hn)                     # the kernel updates it in place
    dpre = empty(out.shape, out.dtype)
    dx = input_grad_buffer(T, B, I, out.dtype, input_grad)
    h_rn = row_norms(T, B, grad_norms)
    dw_hh = np.empty((B, H))
    run_blocks(indrnn_backward, B, w=pack(p["weight_ih"]), w_hh=aligned(p["weight_hh"]), h0=h0, out=out,
               lengths=lengths, relu=relu, d_out=d_out, dh=dh, dpre=dpre, dx=dx, h_rn=h_rn, dw_hh=dw_hh)
    z = empty((T * B, 1 + I), x.dtype)        # [1 | x_t]
    z[:, 0] = 1
    z[:, 1:] = x.reshape(T * B, I)
    g = np.empty((H, 1 + I), x.dtype)
    transposed_products([(dpre.reshape(T * B, H), z, g)])
    bias = g[:, 0].copy()                         # the two biases enter as one sum: equal gradients
    grads = {"weight_ih": np.ascontiguousarray(g[:, 1:]), "weight_hh": dw_hh.sum(0).astype(out.dtype),
             "bias_ih": bias, "bias_hh": bias.copy()}
    return LayerGrads(grads, dx if input_grad else None, dh, None, norms(h_rn, out.dtype), None)
