"""The Numba CPU kernels against the NumPy reference (the spec): every cell, both dtypes, random shapes,
variable lengths and initial states; plus bitwise determinism run after run."""
import numba
import numpy as np
import pytest
from oracles import CELLS as CASES      # every registered cell with each of its nonlinearities

from rnnbench.cells import CELLS
from rnnbench.kernels.cpu.gemm import MR, panel_width
from rnnbench.network import RNN

TOL = {"float64": 1e-10, "float32": 1e-4}


def rel_err(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30)


def problem(cell, act, dtype, seed, shape=None):
    """Two models (cpu, reference) with equal random parameters, and random inputs incl. ragged lengths;
    shape (T, B, I, H, L) or random."""
    rng = np.random.default_rng(seed)
    T, B, I, H, L = shape or (int(v) for v in (rng.integers(1, 9), rng.integers(1, 6), rng.integers(1, 5),
                                                rng.integers(1, 9), rng.integers(1, 3)))
    models = [RNN(cell, I, H, num_layers=L, nonlinearity=act, backend=b, dtype=dtype, seed=seed)
              for b in ("cpu", "reference")]
    x = rng.standard_normal((T, B, I))
    lengths = rng.integers(1, T + 1, B)
    states = [rng.standard_normal((L, B, H)) for _ in range(2)]
    d_out = rng.standard_normal((T, B, H))
    d_n = [rng.standard_normal((L, B, H)) for _ in range(2)]
    has_c = CELLS[cell].has_cell_state
    fwd_kw = dict(h0=states[0], c0=states[1] if has_c else None, lengths=lengths)
    bwd_kw = dict(d_h_n=d_n[0], d_c_n=d_n[1] if has_c else None)
    return models, x, fwd_kw, d_out, bwd_kw


def run(model, x, fwd_kw, d_out, bwd_kw):
    out = model.forward(x, **fwd_kw)
    return out, model.backward(out, d_out, **bwd_kw)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cell,act", CASES)
def test_matches_reference(cell, act, dtype):
    for seed in range(6):
        check_against_reference(cell, act, dtype, seed)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cell,act", CASES)
def test_full_tiles_match_reference(cell, act, dtype):
    """Shapes that reach the micro-kernel's full MR-row tiles, leftover rows and several column panels on
    every thread: the random shapes above stay below one tile of this host's ISA."""
    B = numba.get_num_threads() * (MR + 1) + 1
    check_against_reference(cell, act, dtype, 0, shape=(4, B, 3, panel_width(dtype) + 5, 2))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cell,act", CASES)
def test_single_sequence_matches_reference(cell, act, dtype):
    """B = 1, where the lstm and rnn backward compute dL/dx after their loop rather than in it."""
    check_against_reference(cell, act, dtype, 1, shape=(6, 1, 3, panel_width(dtype) + 5, 2))


def check_against_reference(cell, act, dtype, seed, shape=None):
    models, x, fwd_kw, d_out, bwd_kw = problem(cell, act, dtype, seed, shape)
    (fc, gc), (fr, gr) = (run(m, x, fwd_kw, d_out, bwd_kw) for m in models)
    pairs = [("output", fc.output, fr.output), ("h_n", fc.h_n, fr.h_n), ("dx", gc.dx, gr.dx),
             ("dh0", gc.dh0, gr.dh0), ("grad_norms", gc.grad_norms, gr.grad_norms)]
    if CELLS[cell].has_cell_state:
        pairs += [("c_n", fc.c_n, fr.c_n), ("dc0", gc.dc0, gr.dc0),
                  ("cell_grad_norms", gc.cell_grad_norms, gr.cell_grad_norms)]
    assert gc.params.keys() == gr.params.keys()
    pairs += [(k, gc.params[k], gr.params[k]) for k in gr.params]
    for name, a, b in pairs:
        assert a.dtype == np.dtype(dtype), name
        assert a.shape == b.shape, name
        assert rel_err(a, b) <= TOL[dtype], (seed, name, rel_err(a, b))


@pytest.mark.parametrize("cell,act", CASES)
def test_padding_outputs_zero_and_state_carried(cell, act):
    """Past its length a sequence outputs zeros and its final state equals the state at its length."""
    models, x, fwd_kw, d_out, bwd_kw = problem(cell, act, "float64", 11)
    m = models[0]
    out = m.forward(x, **fwd_kw)
    lengths = fwd_kw["lengths"]
    for b, n in enumerate(lengths):
        assert not out.output[n:, b].any()
        short = m.forward(x[:n, b:b + 1], h0=fwd_kw["h0"][:, b:b + 1],
                          c0=None if fwd_kw["c0"] is None else fwd_kw["c0"][:, b:b + 1])
        np.testing.assert_allclose(out.h_n[:, b], short.h_n[:, 0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cell,act", CASES)
def test_bitwise_deterministic(cell, act):
    rng = np.random.default_rng(5)
    T, B, I, H = 20, 16, 3, 24
    m = RNN(cell, I, H, nonlinearity=act, backend="cpu", dtype="float32", seed=1)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    d_out = rng.standard_normal((T, B, H)).astype(np.float32)
    lengths = rng.integers(1, T + 1, B)
    results = []
    for _ in range(3):
        out = m.forward(x, lengths=lengths)
        g = m.backward(out, d_out)
        results.append([out.output, g.dx, g.grad_norms, *g.params.values()])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert np.array_equal(a, b)


def test_subnormals_flush_in_the_kernels_only():
    """The kernels flush float32 values below 1.2e-38 to zero (a vanishing gradient there took a ~100-cycle
    assist per instruction, 5-25x slower backward passes), while the caller's own arithmetic keeps them."""
    rng = np.random.default_rng(0)
    m = RNN("rnn", 2, 8, backend="cpu", dtype="float32", seed=0)
    x = rng.standard_normal((6, 3, 2)).astype(np.float32)
    d_out = np.zeros((6, 3, 8), np.float32)
    d_out[-1] = np.float32(2.0 ** -140)                  # subnormal: its products underflow further
    g = m.backward(m.forward(x), d_out)
    ref = RNN("rnn", 2, 8, backend="reference", dtype="float64", seed=0)
    want = ref.backward(ref.forward(x), d_out.astype(np.float64))
    assert np.any(want.dx != 0) and not np.any(g.dx)     # the reference sees them, the kernels flush them
    assert np.float32(1e-30) * np.float32(1e-10) != 0     # the calling thread's mode is as it was


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_saturated_units_pass_no_gradient(cell):
    """float32 tanh is exactly +-1 far from 0 (as PyTorch's and NumPy's are), so a saturated unit's local
    derivative 1 - tanh^2 is 0: the approximation once stopped 3 ulp short of 1 and left 5e-7 there, which
    made gradients explode through large weights where the reference's vanish."""
    m = RNN(cell, 2, 8, backend="cpu", dtype="float32", seed=0)
    state = m.state_dict()
    state["bias_ih_l0"] = np.full_like(state["bias_ih_l0"], 100.0)     # every pre-activation ~100
    m.load_state_dict(state)
    x = np.random.default_rng(0).standard_normal((5, 3, 2)).astype(np.float32)
    out = m.forward(x)
    g = m.backward(out, np.ones_like(out.output))
    if cell == "rnn":
        assert np.all(out.output == 1) and not g.dx.any() and not g.params["weight_hh_l0"].any()
    else:   # the i and f gates saturate at s(100) = 1 exactly: s' = 0 (o and c_t still carry gradient)
        assert not g.params["weight_ih_l0"][:16].any() and not g.params["weight_hh_l0"][:16].any()


@pytest.mark.parametrize("cell,act", CASES)
def test_thread_count_does_not_change_a_bit(cell, act):
    """Rows go through full tiles or the one-row tile depending on how the batch splits over threads; both
    sum in the same order, so one and two threads (and a resumed run on another machine) agree bitwise."""
    rng = np.random.default_rng(3)
    T, B, I, H = 6, 2 * MR + 3, 3, 20
    m = RNN(cell, I, H, nonlinearity=act, backend="cpu", dtype="float32", seed=2)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    d_out = rng.standard_normal((T, B, H)).astype(np.float32)
    results = []
    old = numba.get_num_threads()
    try:
        for n in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(n)
            out = m.forward(x)
            g = m.backward(out, d_out)
            results.append([out.output, g.dx, g.grad_norms, *g.params.values()])
    finally:
        numba.set_num_threads(old)
    for a, b in zip(*results):
        assert np.array_equal(a, b)
