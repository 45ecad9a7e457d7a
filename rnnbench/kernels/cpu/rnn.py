"""Vanilla RNN (tanh or relu) forward and backward kernels: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh).

Each kernel runs the whole sequence for batch rows lo:hi (see _common.run_blocks); the forward computes
W_ih x_t + W_hh h_{t-1} as one product per step. It keeps no extra state: the backward reads act'(.) off
the outputs themselves.
"""
from numba import njit

from rnnbench.backend import LayerGrads
from rnnbench.kernels.cpu._common import (KERNEL, KernelForward, activation_grad, backward_product,
                                          input_grads, norms, row_norm, row_norms, run_blocks,
                                          stacked_weights, tanh, thread_rows, weight_grads)
from rnnbench.kernels.cpu.gemm import (copy_row, matmul_rows, pack, product_buffer, project, step_buffers,
                                       turned)
from rnnbench.kernels.cpu.workspace import aligned, copy, empty


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
            out_row = out[t, b]
            if t < lengths[b]:
                a = pre[b - lo]
                if relu:
                    for j in range(H):
                        out_row[j] = max(a[j] + bias[j], zero)
                else:
                    for j in range(H):
                        out_row[j] = tanh(a[j] + bias[j])
                copy_row(z[b - lo, I:], out_row)
            else:
                out_row[:] = zero
    h[lo:hi] = z[:, I:]


@njit(**KERNEL)
def rnn_backward(lo, hi, w, xo, out, lengths, relu, d_out, dh, dpre, dx, h_rn):
    # w, xo = backward_product(...); out: (T, B, H) forward outputs; lengths: (B,); d_out: (T, B, H)
    # dh: (B, H) in dL/dh_n, out dL/dh0; written for rows lo:hi: dpre (T, B, H) dL/d(pre-activation),
    # dx (T, B, I), h_rn (T, B) ||dL/dh_t[b]|| or (0, 0): none
    T, _, H = out.shape
    I = dx.shape[2]
    zero = out.dtype.type(0)
    with_norms = h_rn.shape[0] > 0
    back = product_buffer(hi - lo, w, out)
    for t in range(T - 1, -1, -1):
        for b in range(lo, hi):
            d = dh[b]
            dpre_row = dpre[t, b]
            if t < lengths[b]:
                activation_grad(d, d_out[t, b], out[t, b], relu, dpre_row)
            else:
                dpre_row[:] = zero
            if with_norms:
                h_rn[t, b] = row_norm(d)
        matmul_rows(dpre[t], lo, hi, w, back, turned(t))
        for b in range(lo, hi):
            copy_row(dx[t, b], back[b - lo, xo:xo + I])
            if t < lengths[b]:
                copy_row(dh[b], back[b - lo, :H])


def forward(cell, p, x, h0, c0, lengths, relu, keep):
    """KernelForward; saved None: the backward reads everything it needs off the outputs."""
    out = empty(x.shape[:2] + h0.shape[1:], x.dtype)
    h = empty(h0.shape, h0.dtype)
    w = pack(stacked_weights(p), rows=thread_rows(h0.shape[0]))
    run_blocks(rnn_forward, h0.shape[0], x=x, w=w, bias=aligned(p["bias_ih"] + p["bias_hh"]),
               h0=h0, lengths=lengths, relu=relu, out=out, h=h)
    return KernelForward(out, h, None, None)


def backward(cell, p, x, out, h0, c0, lengths, saved, relu, d_out, d_hn, d_cn, grad_norms=True,
             input_grad=True):
    """LayerGrads; the weight gradients from dL/d(pre-activation) (weight_grads)."""
    T, B, _ = out.shape
    dh = copy(d_hn)                     # the kernel updates it in place
    dpre = empty(out.shape, out.dtype)
    h_rn = row_norms(T, B, grad_norms)
    bp = backward_product(p, T, B, out.dtype, input_grad)
    run_blocks(rnn_backward, B, w=bp.w, xo=bp.xo, out=out, lengths=lengths, relu=relu, d_out=d_out, dh=dh,
               dpre=dpre, dx=bp.dx, h_rn=h_rn)
    return LayerGrads(weight_grads(p, x, h0, out, dpre), input_grads(bp, p, dpre), dh, None,
                      norms(h_rn, out.dtype), None)
