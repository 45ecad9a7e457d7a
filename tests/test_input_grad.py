"""backward(..., input_grad=False) and d_output=None, the training step's backward: no dL/dx, and every other
gradient bitwise that of a full backward with explicit zeros, on every backend (the Model's gradients against
PyTorch's are tested in test_train_torch)."""
import numpy as np
import pytest
from conftest import BACKENDS, require_cell

import rnnbench
from rnnbench.cells import CELLS


@pytest.mark.parametrize("cell", list(CELLS))
def test_without_input_grad_the_same_gradients_and_no_dx(backend, cell):
    require_cell(backend, cell)
    limits = BACKENDS[backend]
    T, B, I, H = min(6, limits.T), min(3, limits.B), min(2, limits.I), min(5, limits.H)
    rng = np.random.default_rng(3)
    m = rnnbench.RNN(cell, I, H, num_layers=2, bidirectional=True, backend=backend, seed=6)
    out = m.forward(rng.standard_normal((T, B, I)), lengths=np.array([T, 2, 1][:B]))
    d_h_n = rng.standard_normal((4, B, H))
    full = m.backward(out, np.zeros((T, B, 2 * H)), d_h_n=d_h_n)
    bare = m.backward(out, None, d_h_n=d_h_n, input_grad=False)
    assert bare.dx is None and full.dx.shape == (T, B, I)
    for key in full.params:
        np.testing.assert_array_equal(bare.params[key], full.params[key])
    np.testing.assert_array_equal(bare.dh0, full.dh0)
    np.testing.assert_array_equal(bare.grad_norms, full.grad_norms)
