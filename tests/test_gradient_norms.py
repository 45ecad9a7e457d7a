"""Gradient norms of tiny gradients, on every backend. dL/dh_t and dL/dc_t are linear in dL/d(output), and
scaling by a power of two is exact, so scaling d_output by 2^-k must scale every norm by exactly 2^-k.
With k = 600 in float64 (entries ~1e-181) a plain sum of squares underflows to 0, as does a float32 sum of
float32 squares with k = 80 (entries ~1e-24): the vanishing-gradient curves must not stop there."""
import numpy as np
import pytest

import rnnbench
from conftest import BACKENDS, require_cell
from rnnbench.cells import CELLS


@pytest.mark.parametrize("dtype,k", [("float64", 600), ("float32", 80)])
@pytest.mark.parametrize("cell", list(CELLS))
def test_norms_scale_exactly_with_tiny_gradients(backend, cell, dtype, k):
    require_cell(backend, cell)
    limits = BACKENDS[backend]
    T, B, I, H = min(5, limits.T), min(3, limits.B), min(2, limits.I), min(4, limits.H)
    rng = np.random.default_rng(7)
    m = rnnbench.RNN(cell, I, H, num_layers=2, backend=backend, dtype=dtype, seed=3)
    x = rng.standard_normal((T, B, I))
    d_out = rng.standard_normal((T, B, H)).astype(dtype)
    out = m.forward(x, lengths=np.array([T, 2, 1][:B]))
    big = m.backward(out, d_out)
    tiny = m.backward(out, d_out * np.asarray(2.0 ** -k, dtype))
    rtol = 1e-12 if dtype == "float64" else 1e-5
    for a, b in [(big.grad_norms, tiny.grad_norms), (big.cell_grad_norms, tiny.cell_grad_norms)]:
        if a is None:
            continue
        assert np.all(a > 0)
        np.testing.assert_allclose(np.asarray(b, np.float64) * 2.0 ** k, a, rtol=rtol)
