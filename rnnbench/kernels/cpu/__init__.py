"""Numba CPU backend: rnnbench.backend's interface over the @njit kernels, one module per cell.

Per layer: the cell's compiled time loop (one packed-weight product of [x_t | h_{t-1}] plus one fused
elementwise pass per step, gates stored for the backward), then, backward, the compiled reverse loop and
whole-sequence GEMMs for dx and the weight gradients. The peephole LSTM shares the lstm kernels.
"""
import importlib

from rnnbench.backend import LayerForward, stack, to_host  # noqa: F401  (host arrays: nothing to move)

# the cells this backend implements -> the kernel module that runs them, rnnbench/kernels/cpu/<module>.py,
# with forward(cell, p, x, ...) -> KernelForward and backward(cell, p, x, out, ...) -> LayerGrads; the
# peephole LSTM runs the lstm kernels with its peephole terms on (CellSpec.peepholes)
KERNELS = {
    "rnn": "rnn",
    "gru": "gru",
    "lstm": "lstm",
    "peephole": "lstm",
    "indrnn": "indrnn",
}
CELLS = tuple(KERNELS)
_MODULES = {cell: importlib.import_module(f"rnnbench.kernels.cpu.{module}")
            for cell, module in KERNELS.items()}
DEVICE_ARRAYS = False


def forward_layer(cell, act, p, x, h0, c0, lengths, keep=True, device_arrays=False):
    f = _MODULES[cell.name].forward(cell, p, x, h0, c0, lengths, relu=act == "relu", keep=keep)
    return LayerForward(f.output, f.h_n, f.c_n, (x, h0, c0, lengths, f.saved))


def backward_layer(cell, act, p, fwd, d_out, d_hn, d_cn, device_arrays=False, grad_norms=True,
                   input_grad=True):
    x, h0, c0, lengths, saved = fwd.cache
    return _MODULES[cell.name].backward(cell, p, x, fwd.output, h0, c0, lengths, saved, relu=act == "relu",
                                       d_out=d_out, d_hn=d_hn, d_cn=d_cn, grad_norms=grad_norms,
                                       input_grad=input_grad)
