"""Kernel launches per forward+backward of the cuda backend, counted where numba starts a kernel (the
simulator's FakeCUDAKernel, or the GPU dispatcher's launch): the time loop runs inside the kernels, so the
count must not grow with the sequence length T (before issue 17, one step kernel per time step made it 2T + 9
per LSTM layer; now 2 or 3 forward and 7 to 14 backward, rnnbench/kernels/cuda/layer.py)."""
import numpy as np
import pytest

from rnnbench.network import RNN

CELLS = ["rnn", "gru", "lstm", "peephole", "indrnn"]


@pytest.fixture
def launches(monkeypatch):
    """A list that gets one entry (the kernel's name) per kernel launch."""
    from rnnbench.backend import get_backend
    from rnnbench.errors import InputError
    try:
        get_backend("cuda")
    except InputError as e:
        pytest.skip(str(e))
    from rnnbench.kernels.cuda.device import SIMULATED
    seen = []
    if SIMULATED:
        from numba.cuda.simulator.kernel import FakeCUDAKernel as launcher
        original = launcher.__call__

        def counted(self, *args):
            if not self._device:
                seen.append(self.fn.__name__)
            return original(self, *args)
        monkeypatch.setattr(launcher, "__call__", counted)
    else:
        from numba.cuda.dispatcher import CUDADispatcher as launcher
        original = launcher.call

        def counted(self, args, *config):
            seen.append(self.py_func.__name__)
            return original(self, args, *config)
        monkeypatch.setattr(launcher, "call", counted)
    return seen


def _count(launches, cell, T, layers):
    rng = np.random.default_rng(0)
    m = RNN(cell, 2, 3, num_layers=layers, backend="cuda", dtype="float32")
    out = m.forward(rng.standard_normal((T, 2, 2)), lengths=[T, 1])
    m.backward(out, rng.standard_normal((T, 2, 3)))
    n = len(launches)
    launches.clear()
    return n


@pytest.mark.parametrize("cell", CELLS)
def test_launches_do_not_grow_with_sequence_length(launches, cell):
    # a GEMM over T*B rows is one launch, or two where it splits K (rnnbench/kernels/cuda/gemm.py), which
    # at tiny T can go either way: so "not more", rather than "the same"
    short, long = _count(launches, cell, 4, layers=1), _count(launches, cell, 24, layers=1)
    assert long <= short, f"launches per forward+backward: {short} at T = 4, {long} at T = 24"
    # a second layer adds the same number again: per layer, not per step
    assert _count(launches, cell, 4, layers=2) == 2 * short
