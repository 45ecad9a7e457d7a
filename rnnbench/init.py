"""Initializations: PyTorch's default draw, and the ones applied on top of it.

    w = uniform(rng, 1 / np.sqrt(H), (4 * H, I), np.float32)   # PyTorch's default: U(-bound, bound)
    initialize(rnn, "orthogonal", forget_bias=1.0, rng=rng)   # changes rnn.params in place

"uniform"     PyTorch's default, unchanged; for a cell with its own recurrent init (CellSpec.init_recurrent)
              weight_hh is redrawn by it for the run's sequence length when `seq_len` is given.
"orthogonal"  each gate's (H, H) block of weight_hh is a random orthogonal matrix (Saxe et al. 2014), drawn
              in float64 one block at a time; cells with a recurrent matrix only.
"identity"    IRNN (Le, Jaitly & Hinton 2015, "A simple way to initialize recurrent networks of rectified
              linear units"): weight_hh = I and both biases 0; rnn cell with relu only.
forget_bias   cells with a forget gate (CellSpec.forget_gate: lstm, peephole): the forget gate's total bias
              b_ih_f + b_hh_f is set to this value (b_ih_f = forget_bias, b_hh_f = 0; Gers, Schmidhuber &
              Cummins 2000); None keeps the default.
"""
import math

import numpy as np

from rnnbench.errors import InputError

CHUNK = 1 << 16     # values drawn per float64 block by uniform()
INITS = ("uniform", "orthogonal", "identity")


def _irnn(spec, nonlinearity):
    # the IRNN is a one-gate cell with a recurrent matrix and relu: the vanilla RNN
    return spec.gates == 1 and spec.recurrent_weight == "matrix" and nonlinearity == "relu"


def why_not(spec, nonlinearity, init):
    """None where `init` applies to this cell and nonlinearity, else why not (a phrase)."""
    from rnnbench.cells import CELLS
    if init == "orthogonal" and spec.recurrent_weight != "matrix":
        return f"orthogonal needs a recurrent weight matrix, and the {spec.name} cell's is a vector"
    if init == "identity" and not _irnn(spec, nonlinearity):
        cells = " or ".join(name for name, s in CELLS.items() if _irnn(s, "relu"))
        return f"identity (IRNN, Le et al. 2015) needs cell {cells} with nonlinearity relu"
    return None


def uniform(rng, bound, shape, dtype):
    """An array of `dtype` ~ U(-bound, bound) from the Generator rng, with the values (and the rng state
    after) of rng.uniform(-bound, bound, shape).astype(dtype): drawn in float64 blocks of CHUNK values cast
    into the result as they come, so a float32 model never holds a float64 copy of a whole parameter."""
    out = np.empty(shape, dtype=dtype)
    flat = out.reshape(-1)
    for start in range(0, flat.size, CHUNK):
        stop = min(start + CHUNK, flat.size)
        flat[start:stop] = rng.uniform(-bound, bound, stop - start)
    return out


def orthogonal(rng, n):
    """A Haar-random (n, n) orthogonal matrix: QR of a Gaussian with R's diagonal signs folded into Q."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def initialize(rnn, init, forget_bias=None, rng=None, seq_len=None):
    """Apply `init` and `forget_bias` to an rnnbench.RNN's parameters (in place). seq_len: the length T of
    the sequences it will run, for a cell whose own recurrent init depends on it."""
    spec = rnn.spec
    H, G = rnn.hidden_size, spec.gates
    rng = np.random.default_rng(0) if rng is None else rng
    if not isinstance(init, str) or init not in INITS:
        raise InputError(f"unknown init {init!r}; expected uniform, orthogonal or identity")
    why = why_not(spec, rnn.nonlinearity, init)
    if why is not None:
        raise InputError(f"init {why}")
    if forget_bias is not None and (isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float))
                                    or not math.isfinite(forget_bias)):
        raise InputError(f"forget_bias must be a finite number or None, got {forget_bias!r}")
    for p in rnn.params:
        if init == "uniform" and spec.init_recurrent is not None and seq_len is not None:
            p["weight_hh"][:] = spec.init_recurrent(rng, p["weight_hh"].shape, p["weight_hh"].dtype, seq_len)
        elif init == "orthogonal":
            for g in range(G):
                p["weight_hh"][g * H:(g + 1) * H] = orthogonal(rng, H)
        elif init == "identity":
            p["weight_hh"][:] = 0
            np.fill_diagonal(p["weight_hh"], 1)
            p["bias_ih"][:] = 0
            p["bias_hh"][:] = 0
        if forget_bias is not None and spec.forget_gate is not None:
            f = spec.forget_gate
            p["bias_ih"][f * H:(f + 1) * H] = forget_bias
            p["bias_hh"][f * H:(f + 1) * H] = 0
