"""The one interface every backend implements, its result types, and the backend registry.

A backend is a module with two functions over one layer and a whole sequence:

    forward_layer(cell, act, p, x, h0, c0, lengths, keep=True, device_arrays=False) -> LayerForward
        cell: CellSpec; act: one of cell.nonlinearities; p: dict of this layer's parameters keyed without
        the `_l{k}` suffix, shapes cell.param_shapes(I, H): weight_ih (G*H, I), weight_hh (G*H, H) or (G*H,)
        for a vector recurrent weight, bias_ih, bias_hh (G*H,), weight_peephole (3, H) with peepholes;
        x: (T, B, I) C-contiguous; h0, c0: (B, H) (c0 None without a cell state); lengths: (B,) int64,
        every entry in 1..T. Past its length a sequence's state stops changing and its output is zero.
        keep=False: no backward will follow (inference), so the backend may skip storing what only the
        backward needs.
    backward_layer(cell, act, p, fwd, d_out, d_hn, d_cn, device_arrays=False, grad_norms=True) -> LayerGrads
        fwd: the LayerForward above; d_out: (T, B, H); d_hn, d_cn: (B, H) (d_cn None without a cell state).
        grad_norms=False: LayerGrads' h_norms and c_norms may be None (a training step does not read them).

and, beside them:

    CELLS           the registered cells it implements (names); RNN refuses the others
    DEVICE_ARRAYS   whether it keeps arrays in memory of its own (a GPU's): with device_arrays=True its
                    results stay there and its inputs may be there; without, both are host (numpy) arrays
    stack(arrays)   its arrays of one shape -> one array with a new leading axis (np.stack on the host)
    to_host(a)      its array (or None) -> a numpy array (identity on the host)

so rnnbench.network runs every backend the same way: layers called with device_arrays=True hand data to each
other where it lives, and stack/to_host gather the results. All arrays share the model's dtype (float32 or
float64). A backend may keep anything in `fwd.cache`. The host backends (reference, cpu) take stack and
to_host from here.
"""
import importlib
from typing import Any, NamedTuple, Optional

import numpy as np

from rnnbench.errors import InputError


def stack(arrays):
    """Host arrays of one shape -> one array with a new leading axis (a view of a lone one: np.stack's copy
    of a one-layer model's few small results cost ~2 us each, ~10 us of a B = 1 forward+backward)."""
    return arrays[0][np.newaxis] if len(arrays) == 1 else np.stack(arrays)


def to_host(a):
    """A host array is already on the host."""
    return a


class LayerForward(NamedTuple):
    output: np.ndarray            # (T, B, H)
    h_n: np.ndarray               # (B, H)
    c_n: Optional[np.ndarray]     # (B, H) or None
    cache: Any                    # whatever backward_layer needs


class LayerGrads(NamedTuple):
    params: dict                  # same keys as p
    dx: np.ndarray                # (T, B, I)
    dh0: np.ndarray               # (B, H)
    dc0: Optional[np.ndarray]     # (B, H) or None
    h_norms: np.ndarray           # (T,)  ||dL/dh_t||_F, total derivative through all later steps
    c_norms: Optional[np.ndarray]  # (T,) ||dL/dc_t||_F or None


# the registered backends: name -> module; each module declares the cells it implements as CELLS
BACKENDS = {
    "reference": "rnnbench.cells.reference",
    "cpu": "rnnbench.kernels.cpu",
    "cuda": "rnnbench.kernels.cuda",
}

def get_backend(name):
    """Import and return the backend module `name`; InputError for an unknown one."""
    if not isinstance(name, str) or name not in BACKENDS:
        raise InputError(f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)}")
    module = importlib.import_module(BACKENDS[name])
    check = getattr(module, "check_available", None)
    if check is not None:
        check()
    return module


def implemented_cells(name):
    """The cells backend `name` declares (imports its module, without checking for a device)."""
    return tuple(importlib.import_module(BACKENDS[name]).CELLS)


def check_implements(name, cell):
    """InputError unless backend `name` implements `cell` (a registered cell's name)."""
    if cell not in implemented_cells(name):
        raise InputError(f"the {name} backend does not implement the {cell} cell; it has "
                         f"{', '.join(implemented_cells(name))}")
