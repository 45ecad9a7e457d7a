"""Numba CPU backend: rnnbench.backend's interface over the @njit kernels, one module per cell.

Per layer: the cell's compiled time loop (one packed-weight product of [x_t | h_{t-1}] plus one fused
elementwise pass per step, gates stored for the backward), then, backward, the compiled reverse loop and
whole-sequence GEMMs for dx and the weight gradients. The peephole LSTM shares the lstm kernels.
"""
from rnnbench.backend import LayerForward, LayerGrads
from rnnbench.kernels.cpu import gru, lstm, rnn
from rnnbench.kernels.cpu._common import weight_grads

# the cells this backend implements -> their kernel module (forward, backward); the peephole LSTM runs the
# lstm kernels with its peephole terms on (CellSpec.peepholes)
KERNELS = {
    "rnn": rnn,
    "gru": gru,
    "lstm": lstm,
    "peephole": lstm,
}
CELLS = tuple(KERNELS)


def forward_layer(cell, act, p, x, h0, c0, lengths, keep=True):
    out, h_n, c_n, saved = KERNELS[cell.name].forward(cell, p, x, h0, c0, lengths, act == "relu", keep)
    return LayerForward(out, h_n, c_n, (x, h0, c0, lengths, saved))


def backward_layer(cell, act, p, fwd, d_out, d_hn, d_cn):
    x, h0, c0, lengths, saved = fwd.cache
    da, dxn, dx, dh0, dc0, h_norms, c_norms, extra = KERNELS[cell.name].backward(
        cell, p, fwd.output, h0, c0, lengths, saved, act == "relu", d_out, d_hn, d_cn)
    grads = weight_grads(p, x, h0, fwd.output, da, dxn)
    grads.update(extra)
    return LayerGrads(grads, dx, dh0, dc0, h_norms, c_norms)
