"""The JAX comparator (rnnbench.bench.jax_cells) computes what PyTorch and the NumPy reference compute, and
runs on the number of CPUs the bench gives it. Skipped where jax is not installed.

Oracles: nn.RNN (tanh), nn.GRU and nn.LSTM loaded with the same state_dict, for outputs, final states, every
parameter gradient and dx from a fixed dL/d(output); the registered cells PyTorch lacks (the peephole LSTM)
against the NumPy reference (rnnbench's `reference` backend, itself checked against PyTorch's autograd and
finite differences), with each cell's default nonlinearity.
"""
import os

import numpy as np
import pytest
import torch
from oracles import TORCH_MODULES as TORCH

pytest.importorskip("jax")

from rnnbench.bench import jax_cells                                   # noqa: E402
from rnnbench.cells import CELLS                                       # noqa: E402
from rnnbench.errors import InputError                                 # noqa: E402
from rnnbench.network import RNN                                       # noqa: E402

T, B, I, H = 7, 3, 4, 5


@pytest.fixture(scope="module", autouse=True)
def jax_on_one_cpu():
    # as `rnnbench bench --threads 1` starts it (every test of the suite uses one thread for JAX)
    jax_cells.start_cpu(1)


def _data(seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((T, B, I)), rng.standard_normal((T, B, H))


def _jax(cell, state, x, dy):
    import jax.numpy as jnp
    forward, forward_backward = jax_cells.compiled(cell)
    p = {k: jnp.asarray(v) for k, v in state.items()}
    y, d_p, dx = forward_backward(p, jnp.asarray(x), jnp.asarray(dy))
    _, h_n, c_n = jax_cells.layer(cell, p, jnp.asarray(x))
    # the inference forward computes the same output (XLA may fuse it differently: rounding apart)
    np.testing.assert_allclose(np.asarray(forward(p, jnp.asarray(x))), np.asarray(y), rtol=1e-13, atol=1e-14)
    return (np.asarray(y), np.asarray(h_n), np.asarray(c_n), {k: np.asarray(v) for k, v in d_p.items()},
            np.asarray(dx))


@pytest.mark.parametrize("cell", list(TORCH))
def test_jax_layer_matches_torch_module(cell):
    module = TORCH[cell](I, H, dtype=torch.float64)
    x, dy = _data(1)
    state = {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}
    y, h_n, c_n, d_p, dx = _jax(cell, state, x, dy)
    xt = torch.from_numpy(x).requires_grad_(True)
    out, final = module(xt)
    out.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(y, out.detach().numpy(), rtol=1e-12, atol=1e-12)
    has_c = CELLS[cell].has_cell_state
    h_t = final[0] if has_c else final
    np.testing.assert_allclose(h_n, h_t[0].detach().numpy(), rtol=1e-12, atol=1e-12)
    if has_c:
        np.testing.assert_allclose(c_n, final[1][0].detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert set(d_p) == set(state)
    for name, p in module.named_parameters():
        np.testing.assert_allclose(d_p[name], p.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("cell", [c for c in CELLS if c not in TORCH])
def test_jax_layer_matches_reference(cell):
    ref = RNN(cell, I, H, backend="reference", dtype="float64", seed=2)
    x, dy = _data(3)
    out = ref.forward(x)
    g = ref.backward(out, dy)
    y, h_n, c_n, d_p, dx = _jax(cell, ref.state_dict(), x, dy)
    np.testing.assert_allclose(y, out.output, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_n, out.h_n[0], rtol=1e-12, atol=1e-12)
    if CELLS[cell].has_cell_state:
        np.testing.assert_allclose(c_n, out.c_n[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, g.dx, rtol=1e-10, atol=1e-12)
    assert set(d_p) == set(g.params)
    for name, grad in g.params.items():
        np.testing.assert_allclose(d_p[name], grad, rtol=1e-10, atol=1e-12, err_msg=name)


def test_float32_stays_float32():
    module = torch.nn.LSTM(I, H)
    x, _ = _data(4)
    state = {k: v.detach().numpy() for k, v in module.state_dict().items()}
    forward, _ = jax_cells.compiled("lstm")
    y = np.asarray(forward(state, x.astype(np.float32)))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, module(torch.from_numpy(x.astype(np.float32)))[0].detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def _allowed(tid):
    with open(f"/proc/self/task/{tid}/status") as f:
        line = next(line for line in f if line.startswith("Cpus_allowed_list"))
    return line.split()[1]


@pytest.mark.skipif(not os.path.isdir("/proc/self/task") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux and at least 2 CPUs to tell a confined thread pool from the whole "
                           "machine")
def test_jax_computes_on_the_cpus_it_was_started_on():
    # start_cpu(1) ran (the fixture): JAX's pool threads are confined to one CPU, the caller is not
    forward, _ = jax_cells.compiled("gru")
    forward({k: np.ones(s) for k, s in (("weight_ih_l0", (3 * H, I)), ("weight_hh_l0", (3 * H, H)),
                                        ("bias_ih_l0", (3 * H,)), ("bias_hh_l0", (3 * H,)))},
            np.ones((T, B, I))).block_until_ready()
    allowed = {tid: _allowed(tid) for tid in os.listdir("/proc/self/task")}
    single = [tid for tid, cpus in allowed.items() if cpus.isdigit()]
    assert len(os.sched_getaffinity(0)) >= 2 and len(single) >= 1
    with pytest.raises(InputError, match="cannot change to 2"):
        jax_cells.start_cpu(2)
