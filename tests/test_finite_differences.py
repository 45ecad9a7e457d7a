"""Every cell's backward on every backend against float64 central finite differences of its own forward:
the directional derivative of the test loss along a random direction in each parameter, x, h0 and c0."""
import dataclasses

import numpy as np
import pytest
from conftest import BACKENDS
from oracles import CELLS, make_case, rel_err, run_rnnbench

EPS = 1e-6  # central differences: truncation ~EPS**2, rounding ~1e-16 / EPS


def _loss(case, backend):
    r = run_rnnbench(case, backend)
    loss = np.sum(r["output"] * case.dy) + np.sum(r["h_n"] * case.dh_n)
    return loss + (np.sum(r["c_n"] * case.dc_n) if case.dc_n is not None else 0.0)


def _shifted(case, name, v):
    """`case` with array `name` (a field or a parameter key) moved by v."""
    if name in case.params:
        return dataclasses.replace(case, params={**case.params, name: case.params[name] + v})
    return dataclasses.replace(case, **{name: getattr(case, name) + v})


@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("cell,act", CELLS)
@pytest.mark.parametrize("backend", [name for name, lim in BACKENDS.items() if lim.finite_differences])
def test_gradients_match_finite_differences(backend, cell, act, with_lengths):
    lim = BACKENDS[backend]
    T, B, I, H = min(4, lim.T), min(3, lim.B), min(3, lim.I), min(3, lim.H)
    case = make_case(7, cell, act, "float64", T, B, I, H, 2, with_lengths, with_h0=True)
    grads = run_rnnbench(case, backend)
    grad = {**grads["params"], "x": grads["dx"], "h0": grads["dh0"], "c0": grads["dc0"]}
    rng = np.random.default_rng(1)
    errors = {}
    for name, g in grad.items():
        if g is None:
            continue
        v = rng.standard_normal(g.shape)
        up, down = (_loss(_shifted(case, name, EPS * v), backend),
                    _loss(_shifted(case, name, -EPS * v), backend))
        fd = (up - down) / (2 * EPS)
        errors[name] = rel_err(np.sum(g * v), fd)
    bad = {name: f"{e:.2g}" for name, e in errors.items() if e > 1e-6}
    assert not bad, f"{backend} {cell}/{act}: directional derivatives off finite differences: {bad}"
