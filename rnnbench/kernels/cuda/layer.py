"""One layer over a whole sequence on the GPU: the rnnbench.backend interface for the cuda backend.

Everything stays on the device from the input upload to the results: one GEMM projects the whole input
sequence, then one launch of the cell's forward kernel runs the whole time loop (recurrent product + gate
math, rnnbench/kernels/cuda/steps.py; indrnn's elementwise recurrence has no recurrent product, indrnn.py);
backward one launch runs the time loop back, followed by whole-sequence GEMMs for dx and the weight gradients
and a device reduction for the per-step gradient norms. The launches per layer do not grow with T: 3 forward
(W_hh transpose, input projection, time loop; indrnn 2, no transpose); backward the time loop, the dx, dW_ih
and dW_hh GEMMs (indrnn: w_hh's per-step terms summed, a fill of ones and a GEMM), the bias sums (one; gru
two; peephole one more for the peepholes; each a fill of ones and a GEMM) and the norms (two with a cell
state), where a GEMM is 1 launch or 2 where it splits K: 7 to 10 launches for rnn, 8 to 11 for lstm (11 at
T = 1000, B = 64 on a GPU) and indrnn, 9 to 14 for gru, 10 to 14 for peephole. Results come back as host
arrays, or stay device arrays with `device_arrays=True` (for training on the GPU; inputs may then be device
arrays too).
"""
from typing import Any, NamedTuple

import numpy as np
from numba import cuda

from rnnbench.backend import LayerForward, LayerGrads
from rnnbench.kernels.cuda import gru, indrnn, lstm, rnn
from rnnbench.kernels.cuda.device import to_device, to_host
from rnnbench.kernels.cuda.gemm import column_sums, matmul, transpose
from rnnbench.kernels.cuda.norms import step_norms
from rnnbench.kernels.cuda.steps import elementwise_layout, layout

# the cells this backend implements -> the module of their sequence kernels; the peephole LSTM runs the lstm
# kernels with its peephole terms on (CellSpec.peepholes)
KERNELS = {"rnn": rnn, "gru": gru, "lstm": lstm, "peephole": lstm, "indrnn": indrnn}


class LayerCache(NamedTuple):
    """What forward_layer keeps on the device for backward_layer (LayerForward.cache)."""
    x: Any              # (T, B, I) the layer's input
    lengths: Any        # (B,) int64
    hs: Any             # (T+1, B, H) hidden states, [0] = h0
    cs: Any             # (T+1, B, H) cell states, [0] = c0; a placeholder without a cell state
    saved: Any          # (T, B, SAVED*H) gate values the cell's backward reads; a placeholder where none are


def _placeholder(dtype, ndim):
    return cuda.device_array((1,) * ndim, dtype=dtype)


def _states(first, T, dtype):
    """(T+1, B, H) device buffer whose [0] is a copy of `first` (B, H), host or device."""
    seq = cuda.device_array((T + 1,) + first.shape, dtype=dtype)
    seq[0].copy_to_device(to_device(first, dtype))
    return seq


def _copy(a, dtype):
    """A device copy of `a` (host or device) that kernels may overwrite."""
    out = cuda.device_array(a.shape, dtype=dtype)
    out.copy_to_device(to_device(a, dtype))
    return out


def _maybe_host(a, device_arrays):
    return a if device_arrays else to_host(a)


def _launch(cell, B, H):
    """steps.Launch (blocks, threads, groups) of the cell's kernels: a vector weight_hh needs no recurrent
    product, so its kernels run one thread per (row, unit)."""
    return layout(B, H) if cell.recurrent_weight == "matrix" else elementwise_layout(B, H)


def forward_layer(cell, act, p, x, h0, c0, lengths, keep=True, device_arrays=False):
    dtype = np.dtype(x.dtype)
    kern = KERNELS[cell.name]
    w = {name: to_device(v, dtype) for name, v in p.items()}
    x = to_device(x, dtype)                                             # (T, B, I)
    lengths = to_device(lengths, np.int64)                              # (B,)
    T, B, I = x.shape
    GH = w["weight_ih"].shape[0]
    H = GH // cell.gates
    xp = cuda.device_array((T, B, GH), dtype=dtype)
    matmul(x.reshape(T * B, I), w["weight_ih"], xp.reshape(T * B, GH), trans_b=True, bias=w["bias_ih"])
    hs = _states(h0, T, dtype)
    cs = _states(c0, T, dtype) if cell.has_cell_state else _placeholder(dtype, 3)
    keep = keep and kern.SAVED > 0
    saved = cuda.device_array((T, B, kern.SAVED * H), dtype=dtype) if keep else _placeholder(dtype, 3)
    wp = w["weight_peephole"] if cell.peepholes else _placeholder(dtype, 2)
    out = cuda.device_array((T, B, H), dtype=dtype)
    # the forward kernels read W_hh^T (H, G*H); a vector weight_hh is read as it is
    w_rec = transpose(w["weight_hh"]) if cell.recurrent_weight == "matrix" else w["weight_hh"]
    launch = _launch(cell, B, H)
    kern.forward_kernel[launch.blocks, launch.threads](xp, w_rec, w["bias_hh"], wp, lengths, act == "relu",
                                                       launch.groups, keep, hs, cs, saved, out)
    c_n = _maybe_host(cs[T], device_arrays) if cell.has_cell_state else None
    return LayerForward(_maybe_host(out, device_arrays), _maybe_host(hs[T], device_arrays), c_n,
                        LayerCache(x, lengths, hs, cs, saved))


def backward_layer(cell, act, p, fwd, d_out, d_hn, d_cn, device_arrays=False, grad_norms=True,
                   input_grad=True):
    cache = fwd.cache                                                   # a LayerCache
    x, lengths, hs, cs, saved = cache.x, cache.lengths, cache.hs, cache.cs, cache.saved
    dtype = np.dtype(x.dtype)
    kern = KERNELS[cell.name]
    w = {name: to_device(v, dtype) for name, v in p.items()}
    T, B, I = x.shape
    GH = w["weight_ih"].shape[0]
    H = GH // cell.gates
    matrix = cell.recurrent_weight == "matrix"
    has_c = cell.has_cell_state
    d_out = to_device(d_out, dtype)                                      # (T, B, H)
    dh_state = _copy(d_hn, dtype)                                        # (B, H), dL/dh0 at the end
    dc_state = _copy(d_cn, dtype) if has_c else _placeholder(dtype, 2)
    dh_seq = cuda.device_array((T, B, H), dtype=dtype)
    dc_seq = cuda.device_array((T, B, H), dtype=dtype) if has_c else _placeholder(dtype, 3)
    dxp = cuda.device_array((T, B, GH), dtype=dtype)
    dhp = cuda.device_array((T, B, GH), dtype=dtype) if kern.SEPARATE_DHP else dxp
    peep = cell.peepholes
    wp = w["weight_peephole"] if peep else _placeholder(dtype, 2)
    # per-step terms of a diagonal weight's gradient, summed over (t, b) below: the peepholes' (3, H), or a
    # vector weight_hh's (H,)
    diag = 3 * H if peep else H if not matrix else 0
    dwd = cuda.device_array((T, B, diag), dtype=dtype) if diag else _placeholder(dtype, 3)
    launch = _launch(cell, B, H)
    kern.backward_kernel[launch.blocks, launch.threads](w["weight_hh"], wp, lengths, act == "relu",
                                                        launch.groups, hs, cs, saved, d_out, dh_state,
                                                        dc_state, dh_seq, dc_seq, dxp, dhp, dwd)
    dxp2 = dxp.reshape(T * B, GH)
    dhp2 = dhp.reshape(T * B, GH)
    grads = {
        "weight_ih": matmul(dxp2, x.reshape(T * B, I), cuda.device_array((GH, I), dtype), trans_a=True),
        "weight_hh": (matmul(dhp2, hs[:T].reshape(T * B, H), cuda.device_array((GH, H), dtype), trans_a=True)
                      if matrix else column_sums(dwd.reshape(T * B, H)).reshape(H)),
        "bias_ih": column_sums(dxp2).reshape(GH),
    }
    # both biases' gradients are the sums of dhp, which is dxp unless the cell scales a recurrent term
    grads["bias_hh"] = column_sums(dhp2).reshape(GH) if kern.SEPARATE_DHP else _copy(grads["bias_ih"], dtype)
    if peep:
        grads["weight_peephole"] = column_sums(dwd.reshape(T * B, 3 * H)).reshape(3, H)
    dx = (matmul(dxp2, w["weight_ih"], cuda.device_array((T * B, I), dtype)).reshape(T, B, I) if input_grad
          else None)
    h_norms = step_norms(dh_seq) if grad_norms else None
    c_norms = step_norms(dc_seq) if has_c and grad_norms else None
    if not device_arrays:
        grads = {name: to_host(v) for name, v in grads.items()}
        dx, dh_state, h_norms, c_norms = to_host(dx), to_host(dh_state), to_host(h_norms), to_host(c_norms)
        dc_state = to_host(dc_state) if has_c else None
    elif not has_c:
        dc_state = None
    return LayerGrads(grads, dx, dh_state, dc_state, h_norms, c_norms)
