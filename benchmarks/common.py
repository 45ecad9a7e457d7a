"""Shared pieces of the asv suites: parameter grids, seeded data, model construction and JIT warm-up.

Every suite takes its data from here so all series time the same seeded inputs. Convention: the first
value of every parameter list is the smallest, cheapest point; tests/test_benchmarks.py and the CI
subset in .ci/run run exactly that point.

Shapes are strings "T<steps>-B<batch>-I<input>-H<hidden>" so asv's tables and `-b` regexes show them.
"""
import os
import re

import numpy as np

from rnnbench import RNN, InputError
from rnnbench.backend import get_backend
from rnnbench.cells import CELLS as _CELL_SPECS

SEED = 0
DTYPE = "float32"                  # the project's default; float64 is for gradient checks, not speed
CELLS = list(_CELL_SPECS)          # rnn, gru, lstm, peephole
BACKENDS = ["cpu", "cuda"]
SHAPES = ["T50-B16-I16-H64", "T100-B32-I32-H128", "T200-B64-I64-H256"]
LONG_SHAPES = ["T1000-B16-I16-H64", "T4000-B16-I16-H64"]   # peak memory grows with T: the BPTT cache

_SHAPE = re.compile(r"^T(\d+)-B(\d+)-I(\d+)-H(\d+)$")


def dims(shape):
    """'T100-B32-I32-H128' -> (T, B, I, H)."""
    m = _SHAPE.match(shape)
    if m is None:
        raise InputError(f"shape {shape!r} is not of the form T<int>-B<int>-I<int>-H<int>")
    return tuple(int(v) for v in m.groups())


def require_backend(name):
    """Raise NotImplementedError (asv's 'skip') unless backend `name` can run real kernels here."""
    if name == "cuda" and os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        # the simulator runs kernels in Python: correct, but its timings mean nothing
        raise NotImplementedError("cuda backend runs under NUMBA_ENABLE_CUDASIM; not benchmarked")
    try:
        get_backend(name)
    except (ImportError, InputError) as e:
        raise NotImplementedError(f"backend {name!r} unavailable here: {e}") from e


def inputs(T, B, I, H, dtype=DTYPE):
    """Seeded x (T, B, I) ~ N(0, 1) and upstream gradient d_output (T, B, H) ~ N(0, 1/(T*B))."""
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((T, B, I)).astype(dtype)
    d_output = (rng.standard_normal((T, B, H)) / np.sqrt(T * B)).astype(dtype)
    return x, d_output


def model(cell, backend, I, H, dtype=DTYPE, nonlinearity="tanh"):
    """A one-layer seeded RNN; every backend gets the same PyTorch-style initial parameters."""
    return RNN(cell, input_size=I, hidden_size=H, num_layers=1, nonlinearity=nonlinearity,
               backend=backend, dtype=dtype, seed=SEED)


def warm(cell, backend, dtype=DTYPE):
    """Compile (or load from cache) the forward and backward kernels of `cell` on `backend`.

    Numba specializes on dtype and array layout, not on sizes, so a 2-step, 2-sequence problem compiles
    exactly the code the timed shapes run; timings then never include compilation.
    """
    m = model(cell, backend, 2, 2, dtype)
    x, d_output = inputs(2, 2, 2, 2, dtype)
    m.backward(m.forward(x), d_output)


def problem(cell, backend, shape, dtype=DTYPE):
    """(model, x, d_output) for one cell x backend x shape, skipped if the backend is absent, JIT warmed."""
    require_backend(backend)
    T, B, I, H = dims(shape)
    warm(cell, backend, dtype)
    x, d_output = inputs(T, B, I, H, dtype)
    return model(cell, backend, I, H, dtype), x, d_output
