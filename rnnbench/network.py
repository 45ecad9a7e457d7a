"""RNN: a stack of recurrent layers of one cell type on one backend, with a PyTorch-compatible state_dict.

    m = RNN("lstm", input_size=I, hidden_size=H, num_layers=L, backend="cpu", dtype="float32", seed=0)
    m.load_state_dict(torch_module.state_dict())
    out = m.forward(x, h0=None, lengths=None)      # x: (T, B, I)
    g = m.backward(out, d_output, d_h_n=None, d_c_n=None)
    # inference: nothing kept for a backward (faster, less memory)
    out = m.forward(x, grad=False)
    out = m.forward(x, device_arrays=True)         # cuda only: results stay on the GPU (numba device arrays)
    m = RNN("gru", I, H, num_layers=L, bidirectional=True)     # as nn.GRU(..., bidirectional=True)

Layers run one after another over the whole sequence (layer k's output is layer k+1's input); the time
loop lives in the backend. Inputs are checked here (rnnbench.checks), once for all backends.

Bidirectional layers (PyTorch's): each layer runs its forward direction and a reverse one, each a call of the
backend's layer function, the reverse one on every sequence reversed within its own length (as PyTorch reads
a packed sequence) with its output reversed back; the layer's output is [forward | reverse] (T, B, 2H), so
layer k > 0 takes 2H inputs. Parameters of the reverse direction are `<name>_l{k}_reverse`; h0, h_n, c0, c_n,
dh0, dc0 are (2L, B, H) and grad_norms, cell_grad_norms (2L, T), row 2k + d for layer k, direction d (0
forward, 1 reverse). The reverse direction's norms are flipped to run in time like the output: row 2k + 1,
column t is its step T-1-t, the norm at t's state when no lengths are given (with lengths, sequence b's
reverse step s sits at column T-1-s). Both directions of a layer meet on the host (reversing is numpy
indexing), so `device_arrays=True` is refused with `bidirectional=True`.

Parameter versions: every change of the weights through the model (load_state_dict, or taking the live
arrays `m.params` to change them in place, as an optimizer or rnnbench.init does) gives them a new version;
backward refuses a forward made with another version, so it never mixes new weights with an old forward's
activations. Changes made through a reference kept from before are beyond its sight.
"""
import itertools
import math
from functools import cached_property, lru_cache
from typing import Any, NamedTuple, Optional

import numpy as np

from rnnbench.backend import check_implements, get_backend
from rnnbench.cells import check_nonlinearity, get_cell
from rnnbench.checks import (DTYPES, as_numpy, cast_finite, check_dtype, check_keys, check_param, check_real,
                             check_seed, positive_int)
from rnnbench.errors import InputError
from rnnbench.init import uniform

__all__ = ["DTYPES", "RNN", "Forward", "Grads"]
_VERSIONS = itertools.count()     # parameter versions, unique across models


class Forward(NamedTuple):
    output: np.ndarray            # (T, B, D*H): top layer's h_t (both directions'), zero past each length
    h_n: np.ndarray               # (L*D, B, H), D = 2 directions if bidirectional else 1
    c_n: Optional[np.ndarray]     # (L*D, B, H) for lstm/peephole, else None
    cache: Any                    # per-layer backend caches; pass `out` back to backward


class Grads(NamedTuple):
    params: dict                  # state_dict keys -> gradient arrays
    dx: Optional[np.ndarray]      # (T, B, I); None from backward(..., input_grad=False)
    dh0: np.ndarray               # (L*D, B, H)
    dc0: Optional[np.ndarray]     # (L*D, B, H) or None
    grad_norms: Optional[np.ndarray]   # (L*D, T): ||dL/dh_t||_F per layer and direction (module doc);
    # None from backward(..., grad_norms=False), as is cell_grad_norms
    cell_grad_norms: Optional[np.ndarray]  # (L*D, T): ||dL/dc_t||_F for lstm/peephole, else None


@lru_cache(maxsize=2)
def _zeros(shape, dtype):
    # the zero dL/d(output) of a backward given none (a loss on the final state), kept: no backend writes
    # into d_out, and a fresh np.zeros of it cost a training step ~1 ms (adding, T = 400, B = 50, H = 128:
    # 10 MB, which calloc had to clear once the heap had served it before)
    return np.zeros(shape, dtype)


def _same(a):
    return a


def reverse_within(a, lengths):
    """a: (T, B, F) host array with each sequence b reversed within its first lengths[b] steps, as PyTorch's
    reverse direction reads a packed sequence; the steps past a length stay in place (all zeros in outputs
    and gradients there). Its own inverse."""
    t = np.arange(a.shape[0])[:, None]
    index = np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)        # (T, B)
    return np.take_along_axis(a, index[:, :, None], axis=0)


class RNN:
    def __init__(self, cell, input_size, hidden_size, num_layers=1, nonlinearity=None,
                 backend="cpu", dtype="float32", seed=0, bidirectional=False):
        """nonlinearity: one the cell takes (its CellSpec.nonlinearities); None: the cell's default, the
        first. bidirectional: as PyTorch's, each layer runs a forward and a reverse direction (module doc)."""
        self.spec = get_cell(cell)
        self.cell = cell
        self.input_size = positive_int("input_size", input_size)
        self.hidden_size = positive_int("hidden_size", hidden_size)
        self.num_layers = positive_int("num_layers", num_layers)
        self.nonlinearity = check_nonlinearity(self.spec, nonlinearity)
        if not isinstance(bidirectional, bool):
            raise InputError(f"bidirectional must be True or False, got {bidirectional!r}")
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.dtype = check_dtype(dtype)
        seed = check_seed(seed)
        # every layer after the first has layer 1's shapes; counted before any allocation or loop over layers
        per_layer = [self.num_directions * sum(math.prod(shape) for shape in self.layer_shapes(k).values())
                     for k in (0, 1)]
        count = per_layer[0] + (self.num_layers - 1) * per_layer[1]
        if count * self.dtype.itemsize >= 2 ** 63:
            raise InputError(f"input_size, hidden_size and num_layers give {count:.3g} parameters, "
                             f"more than an array can hold")
        self.backend_name = backend
        self.backend = get_backend(backend)
        check_implements(backend, cell)
        self._set_params(self._init_params(seed))

    # ---- parameters -------------------------------------------------------------------------------

    def layer_shapes(self, k):
        """Layer k's parameter shapes (each direction's) keyed without the `_l{k}` suffix."""
        size_in = self.input_size if k == 0 else self.num_directions * self.hidden_size
        return self.spec.param_shapes(size_in, self.hidden_size)

    @property
    def suffixes(self):
        """The state_dict suffix of each entry of params, in order: `_l{k}`, and `_l{k}_reverse` after it for
        a bidirectional layer (PyTorch's order)."""
        return [f"_l{k}{'_reverse' if d else ''}" for k in range(self.num_layers)
                for d in range(self.num_directions)]

    def _shapes(self):
        # (suffix, this entry's shapes) per entry of params
        return [(suffix, self.layer_shapes(i // self.num_directions))
                for i, suffix in enumerate(self.suffixes)]

    def _init_params(self, seed):
        # PyTorch's default: every parameter ~ U(-1/sqrt(H), 1/sqrt(H)); weight_hh from the cell's own
        # init_recurrent where it has one (no sequence length known here: seq_len None)
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(self.hidden_size)
        own = self.spec.init_recurrent

        def draw(name, shape):
            if name == "weight_hh" and own is not None:
                return own(rng, shape, self.dtype, None)
            return uniform(rng, bound, shape, self.dtype)
        return [{name: draw(name, shape) for name, shape in shapes.items()} for _, shapes in self._shapes()]

    def _set_params(self, layers):
        self._params = layers
        self._version = next(_VERSIONS)

    @property
    def params(self):
        """The live parameters, one dict per layer and direction (in the order of `suffixes`) keyed without
        the suffix, for changing in place (an optimizer, rnnbench.init). Taking them counts as a change: a
        forward made before cannot go to backward. To read the weights, use state_dict() (copies)."""
        self._version = next(_VERSIONS)
        return self._params

    @cached_property
    def _keys(self):
        # the state_dict's keys in order (fixed by the constructor's arguments)
        return [f"{name}{suffix}" for suffix, shapes in self._shapes() for name in shapes]

    def state_dict(self):
        """Parameters as numpy arrays under PyTorch's names (`weight_ih_l0`, ..., `weight_ih_l0_reverse`);
        copies."""
        return {f"{name}{suffix}": v.copy() for suffix, layer in zip(self.suffixes, self._params)
                for name, v in layer.items()}

    def load_state_dict(self, state_dict):
        """Load torch tensors or numpy arrays with exactly this model's keys and shapes (copied, so the
        model never shares memory with them). Nothing changes unless every value is good."""
        entries = self._shapes()
        check_keys(state_dict, {f"{name}{suffix}": shape for suffix, shapes in entries
                                for name, shape in shapes.items()}, f"this {self.cell} model")
        self._set_params([{name: check_param(state_dict, f"{name}{suffix}", shape, self.dtype)
                           for name, shape in shapes.items()} for suffix, shapes in entries])

    # ---- input checks -----------------------------------------------------------------------------

    def _array(self, name, value, shape):
        a = as_numpy(name, value)
        if a.ndim != len(shape):
            raise InputError(f"{name} must have {len(shape)} dimensions {shape}, got shape {a.shape}")
        if a.shape != shape:
            raise InputError(f"{name} has shape {a.shape}, expected {shape}")
        check_real(name, a)
        return cast_finite(name, a, self.dtype)

    def _state(self, name, value, B):
        L, H = self.num_layers * self.num_directions, self.hidden_size
        if value is None:
            return np.zeros((L, B, H), dtype=self.dtype)
        return self._array(name, value, (L, B, H))

    def _lengths(self, lengths, T, B):
        if lengths is None:
            return np.full(B, T, dtype=np.int64)
        a = as_numpy("lengths", lengths)
        if a.shape != (B,):
            raise InputError(f"lengths has shape {a.shape}, expected ({B},)")
        if a.dtype.kind not in "iu":
            raise InputError(f"lengths must be integers, got dtype {a.dtype}")
        if a.size and (a.min() < 1 or a.max() > T):
            raise InputError(f"lengths must lie in 1..{T} (the sequence length), got {a.min()}..{a.max()}")
        return np.ascontiguousarray(a, dtype=np.int64)

    # ---- forward and backward ---------------------------------------------------------------------

    def _flow(self, device_arrays):
        """How layer results travel, as (keep, gather, give): keep(a) for each layer's result,
        gather(arrays) -> one (L*D, ...) array, give(a) -> the caller's array. With one direction the results
        stay in the backend's memory (a GPU's) from layer to layer and are gathered there, then go to the host
        unless device_arrays; with two they meet on the host, where each sequence is reversed within its
        length."""
        if device_arrays and not self.backend.DEVICE_ARRAYS:
            raise InputError(f"device_arrays=True needs a GPU backend (cuda), not {self.backend_name!r}")
        if self.bidirectional:
            if device_arrays:
                raise InputError("device_arrays=True is not available with bidirectional=True: the two "
                                 "directions of a layer meet on the host")
            return self.backend.to_host, np.stack, _same
        return _same, self.backend.stack, _same if device_arrays else self.backend.to_host

    def forward(self, x, h0=None, lengths=None, c0=None, grad=True, device_arrays=False):
        """x: (T, B, I). h0 (L*D, B, H) or, for lstm/peephole, also a tuple (h0, c0) as in PyTorch.
        grad=False: inference, like PyTorch under no_grad: the result cannot be passed to backward.
        device_arrays=True (cuda backend): output, h_n, c_n stay on the GPU as numba device arrays."""
        if isinstance(h0, tuple):
            if len(h0) != 2:
                raise InputError(f"h0 given as a tuple must be (h0, c0), got {len(h0)} items")
            h0, c0 = h0
        xs = as_numpy("x", x)
        if xs.ndim != 3:
            raise InputError(f"x must have 3 dimensions (T, B, I), got shape {xs.shape}")
        T, B, _ = xs.shape
        if T < 1 or B < 1:
            raise InputError(f"x must have at least one time step and one sequence, got shape {xs.shape}")
        x = self._array("x", xs, (T, B, self.input_size))
        h0 = self._state("h0", h0, B)
        if self.spec.has_cell_state:
            c0 = self._state("c0", c0, B)
        elif c0 is not None:
            raise InputError(f"c0 given, but the {self.cell} cell has no cell state")
        lengths = self._lengths(lengths, T, B)
        keep, gather, give = self._flow(device_arrays)
        has_c, D = self.spec.has_cell_state, self.num_directions
        caches, h_n, c_n = [], [], []
        inp = x
        for k in range(self.num_layers):
            outs = []
            # d = 1: the reverse direction, on each sequence reversed in its length
            for d in range(D):
                i = k * D + d
                f = self.backend.forward_layer(self.spec, self.nonlinearity, self._params[i],
                                               reverse_within(inp, lengths) if d else inp, h0[i],
                                               c0[i] if has_c else None, lengths, keep=grad,
                                               device_arrays=True)
                caches.append(f)
                h_n.append(keep(f.h_n))
                c_n.append(keep(f.c_n))
                outs.append(reverse_within(keep(f.output), lengths) if d else keep(f.output))
            inp = outs[0] if D == 1 else np.concatenate(outs, axis=2)
        return Forward(give(inp), give(gather(h_n)), give(gather(c_n)) if has_c else None,
                       (caches, T, B, lengths, self._version) if grad else None)

    def backward(self, out, d_output, d_h_n=None, d_c_n=None, device_arrays=False, grad_norms=True,
                 input_grad=True):
        """Backpropagate through time from dL/d(output) (T, B, D*H), or None for zeros (a loss on the final
        state alone), and optionally dL/dh_n, dL/dc_n (L*D, B, H).
        device_arrays=True (cuda backend): every gradient stays on the GPU as a numba device array.
        grad_norms=False: no gradient-norm curves (Grads.grad_norms and cell_grad_norms are None), which a
        training step that does not read them saves computing.
        input_grad=False: no dL/dx (Grads.dx is None), which a training step does not read either; the
        CPU kernels then leave W_ih out of the backward's per-step product."""
        if not isinstance(out, Forward):
            raise InputError("backward needs the value returned by forward")
        if out.cache is None:
            raise InputError("backward needs a forward run with grad=True")
        caches, T, B, lengths, version = out.cache
        if version != self._version:
            raise InputError("backward needs the forward of the current weights, and this model's weights "
                             "changed after that forward (load_state_dict, or params taken for an update): "
                             "run forward again")
        L, D, H = self.num_layers, self.num_directions, self.hidden_size
        d_out = (_zeros((T, B, D * H), self.dtype) if d_output is None
                 else self._array("d_output", d_output, (T, B, D * H)))
        d_h_n = self._state("d_h_n", d_h_n, B)
        if self.spec.has_cell_state:
            d_c_n = self._state("d_c_n", d_c_n, B)
        elif d_c_n is not None:
            raise InputError(f"d_c_n given, but the {self.cell} cell has no cell state")
        keep, gather, give = self._flow(device_arrays)
        has_c, suffixes = self.spec.has_cell_state, self.suffixes
        params, dh0, dc0 = {}, [None] * (L * D), [None] * (L * D)
        h_norms, c_norms = [None] * (L * D), [None] * (L * D)
        for k in range(L - 1, -1, -1):
            d_in = None
            for d in range(D):
                i = k * D + d
                d_dir = d_out if D == 1 else np.ascontiguousarray(d_out[:, :, d * H:(d + 1) * H])
                g = self.backend.backward_layer(self.spec, self.nonlinearity, self._params[i], caches[i],
                                                reverse_within(d_dir, lengths) if d else d_dir, d_h_n[i],
                                                d_c_n[i] if has_c else None, device_arrays=True,
                                                grad_norms=grad_norms, input_grad=input_grad or k > 0)
                params.update({f"{name}{suffixes[i]}": keep(v) for name, v in g.params.items()})
                dh0[i], dc0[i] = keep(g.dh0), keep(g.dc0)
                if grad_norms:
                    # the reverse direction's step s is at t = T-1-s: flipped, its norms run in time as the
                    # output
                    h_norms[i] = keep(g.h_norms)[::-1] if d else keep(g.h_norms)
                    c_norms[i] = (keep(g.c_norms)[::-1] if d else keep(g.c_norms)) if has_c else None
                if g.dx is not None:
                    dx = keep(g.dx)
                    d_in = dx if d == 0 else d_in + reverse_within(dx, lengths)
            d_out = d_in
        params = {key: give(params[key]) for key in self._keys}        # state_dict's key order
        return Grads(params, give(d_out), give(gather(dh0)), give(gather(dc0)) if has_c else None,
                     give(gather(h_norms)) if grad_norms else None,
                     give(gather(c_norms)) if has_c and grad_norms else None)
