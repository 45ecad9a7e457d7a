"""What a training step leaves out of a backward, on every backend: the gradient-norm curves
(grad_norms=False), dL/dx (input_grad=False) and an all-zero dL/d(output) (None). Each must leave every other
gradient bitwise that of a full backward (the Model's gradients against PyTorch's: test_train_torch)."""
import numpy as np
import pytest
from conftest import BACKENDS, require_cell

import rnnbench
from rnnbench.cells import CELLS

# name -> (backward's keyword arguments, whether d_output is passed as None: zeros)
OPTIONS = {"no norms": ({"grad_norms": False}, False), "no dx, no d_output": ({"input_grad": False}, True)}


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("cell", list(CELLS))
def test_a_left_out_part_changes_no_other_gradient(backend, cell, option):
    require_cell(backend, cell)
    limits = BACKENDS[backend]
    T, B, I, H = min(6, limits.T), min(3, limits.B), min(2, limits.I), min(5, limits.H)
    rng = np.random.default_rng(2)
    m = rnnbench.RNN(cell, I, H, num_layers=2, bidirectional=True, backend=backend, seed=5)
    out = m.forward(rng.standard_normal((T, B, I)), lengths=np.array([T, 2, 1][:B]))
    kwargs, zero_output = OPTIONS[option]
    d_out = np.zeros((T, B, 2 * H)) if zero_output else rng.standard_normal((T, B, 2 * H))
    d_h_n = rng.standard_normal((4, B, H))
    full = m.backward(out, d_out, d_h_n=d_h_n)
    bare = m.backward(out, None if zero_output else d_out, d_h_n=d_h_n, **kwargs)
    for key in full.params:
        np.testing.assert_array_equal(bare.params[key], full.params[key])
    np.testing.assert_array_equal(bare.dh0, full.dh0)
    if kwargs.get("grad_norms", True):
        np.testing.assert_array_equal(bare.grad_norms, full.grad_norms)
    else:
        assert bare.grad_norms is None and bare.cell_grad_norms is None
    if kwargs.get("input_grad", True):
        np.testing.assert_array_equal(bare.dx, full.dx)
    else:
        assert bare.dx is None and full.dx.shape == (T, B, I)
