"""Shared pieces of the asv suites: parameter grids, seeded data and workloads, skips and JIT warm-up.

Every suite takes its data from here, and the workloads from `rnnbench bench` (rnnbench.bench.workloads and
.training), so asv and the bench time the same computation on the same seeded inputs. Convention: the first
value of every parameter list is the smallest, cheapest point; tests/test_benchmarks.py and the CI subset in
.ci/run run exactly that point.

Shapes are strings "T<steps>-B<batch>-I<input>-H<hidden>" so asv's tables and `-b` regexes show them.
"""
import os
import re

from rnnbench import InputError
from rnnbench.backend import get_backend, implemented_cells
from rnnbench.bench import training
from rnnbench.bench.workloads import RnnbenchWorkload, TorchWorkload, make_data
from rnnbench.cells import CELLS as _CELL_SPECS

SEED = 0
DTYPE = "float32"                  # the project's default; float64 is for gradient checks, not speed
CELLS = list(_CELL_SPECS)          # every registered cell; a backend that lacks one skips its points
BACKENDS = ["cpu", "cuda"]
SHAPES = ["T50-B16-I16-H64", "T100-B32-I32-H128", "T200-B64-I64-H256"]
LONG_SHAPES = ["T1000-B16-I16-H64", "T4000-B16-I16-H64"]   # peak memory grows with T: the BPTT cache
TASKS = ["adding", "copy"]

_SHAPE = re.compile(r"^T(\d+)-B(\d+)-I(\d+)-H(\d+)$")


def dims(shape):
    """'T100-B32-I32-H128' -> (T, B, I, H)."""
    m = _SHAPE.match(shape)
    if m is None:
        raise InputError(f"shape {shape!r} is not of the form T<int>-B<int>-I<int>-H<int>")
    return tuple(int(v) for v in m.groups())


def require_backend(name, cell=None):
    """Raise NotImplementedError (asv's 'skip') unless backend `name` can run real kernels here (of
    `cell`)."""
    if name == "cuda" and os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        # the simulator runs kernels in Python: correct, but its timings mean nothing
        raise NotImplementedError("cuda backend runs under NUMBA_ENABLE_CUDASIM; not benchmarked")
    try:
        get_backend(name)
    except (ImportError, InputError) as e:
        raise NotImplementedError(f"backend {name!r} unavailable here: {e}") from e
    if cell is not None and cell not in implemented_cells(name):
        raise NotImplementedError(f"backend {name!r} does not implement the {cell} cell")


def warm(cell, backend):
    """Compile (or load from cache) the forward and backward kernels of `cell` on `backend`.

    Numba specializes on dtype and array layout, not on sizes, so a 2-step, 2-sequence problem compiles
    exactly the code the timed shapes run; timings then never include compilation.
    """
    RnnbenchWorkload(cell, backend, *make_data(2, 2, 2, 2, DTYPE, SEED), seed=SEED).train_step()


def workload(cell, backend, shape):
    """One rnnbench layer (rnn = tanh) on seeded data, JIT warmed; skipped if the backend is absent."""
    require_backend(backend, cell)
    warm(cell, backend)
    return RnnbenchWorkload(cell, backend, *make_data(*dims(shape), DTYPE, SEED), seed=SEED)


def torch_workload(cell, device, shape):
    """The same layer, parameters and data in PyTorch on `device`; skipped without torch or the device."""
    _torch(device)
    x, d_output = make_data(*dims(shape), DTYPE, SEED)
    params = RnnbenchWorkload(cell, "reference", x, d_output, seed=SEED).state_dict()
    return TorchWorkload(cell, params, x, d_output, device=device)


def _torch(device):
    """torch, or NotImplementedError (asv's skip) without it or without the device."""
    try:
        import torch
    except ImportError as e:
        raise NotImplementedError("torch is not installed") from e
    if device == "cuda" and not torch.cuda.is_available():
        raise NotImplementedError("torch sees no CUDA device")
    return torch


def train_step(task, cell, backend, seq_len):
    """One training step of train_config's model on a batch drawn once (bench.training); skipped without the
    backend."""
    require_backend(backend, cell)
    return training.RnnbenchTrainStep(train_config(task, cell, backend, seq_len))


def torch_train_step(task, cell, device, seq_len):
    """The same step in PyTorch on `device`, from the same weights and batch; skipped without torch or the
    device."""
    _torch(device)
    return training.TorchTrainStep(training.RnnbenchTrainStep(train_config(task, cell, "reference", seq_len)),
                                   device)


def train_config(task, cell, backend, seq_len, **overrides):
    """A normalized training config (rnnbench.config) for `task`; test_size minimal unless overridden."""
    from rnnbench.config import normalize
    return normalize(dict(dict(task=task, cell=cell, backend=backend, seq_len=seq_len, seed=SEED,
                               dtype=DTYPE, test_size=1, checkpoint_every=0), **overrides))
