"""LSTM and peephole LSTM (gate order i, f, g, o) forward and backward kernels.

    i = s(a_i + p_i * c_{t-1});  f = s(a_f + p_f * c_{t-1});  g = tanh(a_g);  c_t = f * c_{t-1} + i * g
    o = s(a_o + p_o * c_t);  h_t = o * tanh(c_t)

with a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh and p = weight_peephole (3, H) for the peephole cell (Gers,
Schraudolph & Schmidhuber 2002). The plain LSTM runs the same kernels with p = 0: three extra FMAs per unit
against five sigmoid/tanh, and one loop to keep right instead of two. Each kernel runs the whole sequence
for batch rows lo:hi; the forward gets a from one product per step and stores the gates and c_t for the
backward.
"""
from functools import lru_cache

import numpy as np
from numba import njit, types
from numba.extending import overload

from rnnbench.backend import LayerGrads
from rnnbench.kernels.cpu._common import (KERNEL, KernelForward, backward_product, input_grads, norms,
                                          prefetch_pays, prefetch_read, prefetch_write, row_norm, row_norms,
                                          run_blocks, sigmoid, stacked_weights, tanh, thread_rows,
                                          weight_grads)
from rnnbench.kernels.cpu.gemm import (copy_row, matmul_rows, multiply_add, pack, product_buffer, project,
                                       step_buffers, turned)
from rnnbench.kernels.cpu.workspace import aligned, copy, empty


def cell_state(f, c, i, g):
    """c_t = f * c_{t-1} + i * g, with the rounding each dtype's kernels have always had: one product fused
    into the sum, float32 i * g (where LLVM once chose it in the vectorized loop), float64 f * c (its scalar
    loop). Spelt out, so that no compiler choice moves a bit of a stored result."""


@overload(cell_state)
def _cell_state(f, c, i, g):
    if f == types.float32:
        return lambda f, c, i, g: multiply_add(i, g, f * c)
    return lambda f, c, i, g: multiply_add(f, c, i * g)


@njit(**KERNEL)
def lstm_forward(lo, hi, x, w, bias, w_p, h0, c0, lengths, ahead, out, h, c, gates, cs):
    # x: (T, B, I); w = pack([W_ih^T; W_hh^T]), the weights of z_t = [x_t | h_{t-1}]; bias: (4H,) b_ih + b_hh
    # w_p: (3, H) peephole weights (zeros for lstm); h0, c0: (B, H); lengths: (B,); ahead: prefetch (see
    # _common._prefetch)
    # written for rows lo:hi: out (T, B, H); h, c (B, H) final states; gates (Ts, B, 4H) i, f, g, o and
    # cs (Ts, B, H) the cell states c_t, with Ts = T (kept for the backward) or 1 (inference: overwritten)
    T, _, I = x.shape
    H = h0.shape[1]
    keep = gates.shape[0] == T
    zero = x.dtype.type(0)
    z, pre = step_buffers(x, h0, w, lo, hi)
    p_i, p_f, p_o = w_p[0], w_p[1], w_p[2]
    c[lo:hi] = c0[lo:hi]
    for t in range(T):
        project(x, t, lo, hi, z, w, pre)
        ts = t if keep else 0
        for b in range(lo, hi):
            out_row = out[t, b]
            if t < lengths[b]:
                a = pre[b - lo]
                gate_row = gates[ts, b]
                cb = c[b]
                cn = cs[ts, b]
                # three passes, each with a short chain per unit: one pass with all five sigmoid/tanh in a
                # chain left fewer units in flight (lstm 1000,64,2,128 forward for training 42.9 -> 41.7 ms;
                # same arithmetic, bitwise the same)
                for j in range(H):
                    gate_row[j] = sigmoid(a[j] + bias[j] + p_i[j] * cb[j])
                    gate_row[H + j] = sigmoid(a[H + j] + bias[H + j] + p_f[j] * cb[j])
                for j in range(H):
                    g = tanh(a[2 * H + j] + bias[2 * H + j])
                    gate_row[2 * H + j] = g
                    cn[j] = cell_state(gate_row[H + j], cb[j], gate_row[j], g)
                for j in range(H):
                    cj = cn[j]
                    o = sigmoid(a[3 * H + j] + bias[3 * H + j] + p_o[j] * cj)
                    gate_row[3 * H + j] = o
                    out_row[j] = o * tanh(cj)
                copy_row(cb, cn)
                copy_row(z[b - lo, I:], out_row)
            else:
                out_row[:] = zero
            if ahead and t + 1 < T:
                prefetch_write(out[t + 1, b])
                if keep:
                    prefetch_write(gates[t + 1, b])
                    prefetch_write(cs[t + 1, b])
    h[lo:hi] = z[:, I:]


@njit(**KERNEL)
def lstm_backward(lo, hi, w, xo, w_p, peep, c0, gates, cs, lengths, ahead, d_out, dh, dc, da, dx, h_rn, c_rn,
                  dw_p):
    # w, xo = backward_product(...); w_p: (3, H) (zeros without peepholes); peep: bool; c0: (B, H)
    # gates: (T, B, 4H); cs: (T, B, H); lengths: (B,); ahead: prefetch; d_out: (T, B, H)
    # dh, dc: (B, H) in dL/dh_n, dL/dc_n, out dL/dh0, dL/dc0
    # written for rows lo:hi: da (T, B, 4H); dx (T, B, I); h_rn, c_rn (T, B) row norms, or (0, 0): none;
    # dw_p (B, 3, H) per-row peephole grads (only if peep)
    T, _, H = cs.shape
    I = dx.shape[2]
    zero = cs.dtype.type(0)
    with_norms = h_rn.shape[0] > 0
    one = cs.dtype.type(1)
    back = product_buffer(hi - lo, w, cs)
    p_i, p_f, p_o = w_p[0], w_p[1], w_p[2]
    dw_p[lo:hi] = 0.0
    for t in range(T - 1, -1, -1):
        cprev = c0 if t == 0 else cs[t - 1]
        for b in range(lo, hi):
            d = dh[b]
            dcb = dc[b]
            dab = da[t, b]
            if t < lengths[b]:
                gate_row = gates[t, b]
                cn = cs[t, b]
                cp = cprev[b]
                dy = d_out[t, b]
                dw = dw_p[b]
                for j in range(H):
                    dj = d[j] + dy[j]
                    tc = tanh(cn[j])
                    o = gate_row[3 * H + j]
                    dao = dj * tc * o * (one - o)
                    d[j] = dj
                    dab[3 * H + j] = dao
                    dcb[j] += dj * o * (one - tc * tc) + dao * p_o[j]
                for j in range(H):
                    i = gate_row[j]
                    f = gate_row[H + j]
                    g = gate_row[2 * H + j]
                    dab[j] = dcb[j] * g * i * (one - i)
                    dab[H + j] = dcb[j] * cp[j] * f * (one - f)
                    dab[2 * H + j] = dcb[j] * i * (one - g * g)
                if peep:
                    for j in range(H):
                        dw[0, j] += dab[j] * cp[j]
                        dw[1, j] += dab[H + j] * cp[j]
                        dw[2, j] += dab[3 * H + j] * cn[j]
                if with_norms:
                    h_rn[t, b] = row_norm(d)
                    c_rn[t, b] = row_norm(dcb)
                for j in range(H):
                    dcb[j] = dcb[j] * gate_row[H + j] + dab[j] * p_i[j] + dab[H + j] * p_f[j]
            else:
                if with_norms:
                    h_rn[t, b] = row_norm(d)
                    c_rn[t, b] = row_norm(dcb)
                dab[:] = zero
            if ahead and t > 0:
                prefetch_read(gates[t - 1, b])
                prefetch_read(d_out[t - 1, b])
                prefetch_write(da[t - 1, b])
                if t > 1:
                    prefetch_read(cs[t - 2, b])
        matmul_rows(da[t], lo, hi, w, back, turned(t))
        for b in range(lo, hi):
            copy_row(dx[t, b], back[b - lo, xo:xo + I])
            if t < lengths[b]:
                copy_row(dh[b], back[b - lo, :H])


def _peepholes(cell, p, H, dtype):
    """(w_p (3, H), peep): the peephole weights, zeros for a cell without them."""
    return (aligned(p["weight_peephole"]) if cell.peepholes else _no_peepholes(H, dtype)), cell.peepholes


@lru_cache(maxsize=16)
def _no_peepholes(H, dtype):
    # the plain lstm's w_p, made once per shape (the kernels only read it)
    return aligned(np.zeros((3, H), dtype))


def forward(cell, p, x, h0, c0, lengths, relu, keep):
    """KernelForward, saved = (gates, cs) for the backward."""
    T, B, _ = x.shape
    H = h0.shape[1]
    Ts = T if keep else 1
    out, h, c = empty((T, B, H), x.dtype), empty(h0.shape, h0.dtype), empty(h0.shape, h0.dtype)
    gates, cs = empty((Ts, B, 4 * H), x.dtype), empty((Ts, B, H), x.dtype)
    w = pack(stacked_weights(p), rows=thread_rows(B))
    run_blocks(lstm_forward, B, x=x, w=w, bias=aligned(p["bias_ih"] + p["bias_hh"]),
               w_p=_peepholes(cell, p, H, x.dtype)[0], h0=h0, c0=c0, lengths=lengths,
               ahead=prefetch_pays(w, out, gates, cs), out=out, h=h, c=c, gates=gates, cs=cs)
    return KernelForward(out, h, c, (gates, cs))


def backward(cell, p, x, out, h0, c0, lengths, saved, relu, d_out, d_hn, d_cn, grad_norms=True,
             input_grad=True):
    """LayerGrads; the weight gradients from dL/d(pre-activations) (weight_grads), plus the peepholes'."""
    T, B, H = out.shape
    dh, dc = copy(d_hn), copy(d_cn)            # the kernel updates them in place
    da = empty((T, B, 4 * H), out.dtype)
    h_rn, c_rn = row_norms(T, B, grad_norms), row_norms(T, B, grad_norms)
    w_p, peep = _peepholes(cell, p, H, out.dtype)
    dw_p = np.empty((B, 3, H)) if peep else np.empty((B, 0, 0))
    gates, cs = saved
    bp = backward_product(p, T, B, out.dtype, input_grad)
    run_blocks(lstm_backward, B, w=bp.w, xo=bp.xo, w_p=w_p, peep=peep, c0=c0, gates=gates, cs=cs,
               lengths=lengths, ahead=prefetch_pays(bp.w, gates, cs, d_out, da), d_out=d_out, dh=dh, dc=dc,
               da=da, dx=bp.dx, h_rn=h_rn, c_rn=c_rn, dw_p=dw_p)
    grads = weight_grads(p, x, h0, out, da)
    if peep:
        grads["weight_peephole"] = dw_p.sum(0).astype(out.dtype)
    return LayerGrads(grads, input_grads(bp, p, da), dh, dc, norms(h_rn, out.dtype),
                      norms(c_rn, out.dtype))
