"""Numba CPU backend: rnnbench.backend's interface over the @njit kernels, one module per cell.

Per layer: one whole-sequence GEMM for the input projection, then the cell's compiled time loop (the
recurrent product through BLAS into a preallocated buffer plus one fused elementwise pass per step,
gates stored for backward), then whole-sequence GEMMs for dx and the weight gradients.
"""
from rnnbench.backend import LayerForward, LayerGrads
from rnnbench.kernels.cpu import gru, lstm, peephole, rnn
from rnnbench.kernels.cpu._common import input_projection, weight_grads

KERNELS = {m.__name__.rsplit(".", 1)[1]: m for m in (rnn, gru, lstm, peephole)}


def forward_layer(cell, act, p, x, h0, c0, lengths):
    xp = input_projection(p, x)
    out, h_n, c_n, saved = KERNELS[cell.name].forward(p, xp, h0, c0, lengths, act == "relu")
    return LayerForward(out, h_n, c_n, (x, h0, c0, lengths, saved))


def backward_layer(cell, act, p, fwd, d_out, d_hn, d_cn):
    x, h0, c0, lengths, saved = fwd.cache
    dxp, dhp, dh0, dc0, h_norms, c_norms, extra = KERNELS[cell.name].backward(
        p, fwd.output, h0, c0, lengths, saved, act == "relu", d_out, d_hn, d_cn)
    grads, dx = weight_grads(p, x, h0, fwd.output, dxp, dhp)
    grads.update(extra)
    return LayerGrads(grads, dx, dh0, dc0, h_norms, c_norms)
