"""Initializations applied on top of PyTorch's default (every parameter ~ U(-1/sqrt(H), 1/sqrt(H))).

    initialize(rnn, "orthogonal", forget_bias=1.0, rng=rng)   # changes rnn.params in place

"uniform"     PyTorch's default, unchanged.
"orthogonal"  each gate's (H, H) block of weight_hh is a random orthogonal matrix (Saxe et al. 2014).
"identity"    IRNN (Le, Jaitly & Hinton 2015, "A simple way to initialize recurrent networks of rectified
              linear units"): weight_hh = I and both biases 0; rnn cell with relu only.
forget_bias   lstm/peephole: the forget gate's total bias b_ih_f + b_hh_f is set to this value (b_ih_f =
              forget_bias, b_hh_f = 0; Gers, Schmidhuber & Cummins 2000); None keeps the default.
"""
import numpy as np

from rnnbench.errors import InputError


def orthogonal(rng, n):
    """A Haar-random (n, n) orthogonal matrix: QR of a Gaussian with R's diagonal signs folded into Q."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def initialize(rnn, init, forget_bias=None, rng=None):
    """Apply `init` and `forget_bias` to an rnnbench.RNN's parameters (in place)."""
    H, G = rnn.hidden_size, rnn.spec.gates
    rng = np.random.default_rng(0) if rng is None else rng
    if init == "identity" and (rnn.cell, rnn.nonlinearity) != ("rnn", "relu"):
        raise InputError("identity init (IRNN) needs cell rnn with nonlinearity relu")
    if init not in ("uniform", "orthogonal", "identity"):
        raise InputError(f"unknown init {init!r}; expected uniform, orthogonal or identity")
    for p in rnn.params:
        if init == "orthogonal":
            for g in range(G):
                p["weight_hh"][g * H:(g + 1) * H] = orthogonal(rng, H)
        elif init == "identity":
            p["weight_hh"][:] = np.eye(H)
            p["bias_ih"][:] = 0
            p["bias_hh"][:] = 0
        if forget_bias is not None and rnn.cell in ("lstm", "peephole"):
            p["bias_ih"][H:2 * H] = forget_bias    # gate order i, f, g, o
            p["bias_hh"][H:2 * H] = 0
