"""rnn (tanh, relu), gru and lstm on every backend against PyTorch's own nn.RNN / nn.GRU / nn.LSTM;
every cell on all backends on the same cases.

Outputs, final states, all parameter gradients, dx, dh0 (dc0) at rel. error <= 1e-10 in float64 and
<= 1e-4 in float32, for 1 and 2 layers, with and without lengths (PyTorch via pack_padded_sequence),
with and without initial states; grad_norms against the norms of PyTorch's h_t.grad in an unrolled
autograd loop that is itself checked against the modules here. Random shapes from hypothesis.
"""
import numpy as np
import pytest
import torch
from conftest import BACKENDS, UNLIMITED, require_cell
from hypothesis import strategies as st
from oracles import (CELLS, TOLERANCE, TORCH_CELLS, assert_matches, cases, for_random_cases, module_oracle,
                     oracle, run_rnnbench, torch_module, unrolled_oracle)


DTYPES = ["float64", "float32"]


@pytest.mark.parametrize("cell,act", TORCH_CELLS)
def test_unrolled_oracle_reproduces_torch_modules(cell, act):
    # anchors the loop written from the equations (and its lengths mask) to PyTorch's modules
    def check(case):
        unrolled = unrolled_oracle(case)
        norms = unrolled.pop("grad_norms")
        unrolled.pop("cell_grad_norms")
        assert_matches(unrolled, module_oracle(case), 1e-12)
        # the written definition at the last step of the top layer: dL/dh_{T-1} = dy[T-1] + dh_n
        if case.lengths is None:
            np.testing.assert_allclose(norms[-1, -1], np.linalg.norm(case.dy[-1] + case.dh_n[-1]), rtol=1e-12)
    for_random_cases(UNLIMITED, 15, cases(UNLIMITED, cell, act, "float64"), check)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cell,act", TORCH_CELLS)
def test_matches_torch(backend, cell, act, dtype):
    require_cell(backend, cell)
    limits = BACKENDS[backend]

    def check(case):
        # parameters straight from a torch module of the test's dtype, as a user would load them
        torch_sd = torch_module(case, getattr(torch, dtype)).state_dict()
        assert_matches(run_rnnbench(case, backend, torch_sd), oracle(case), TOLERANCE[dtype], dtype,
                       f"{backend} {cell}/{act} {dtype} shape (T, B, I, H, L)={case.shape}")
    for_random_cases(limits, 20, cases(limits, cell, act, dtype), check)


def _fits(small, large):
    return all(getattr(small, f) <= getattr(large, f) for f in ("T", "B", "I", "H"))


# one size class per distinct backend limit: its cases run on every backend whose limits admit them
SIZE_CLASSES = {"+".join(name for name, lim in BACKENDS.items() if _fits(size, lim)): size
                for size in set(BACKENDS.values())}


@pytest.mark.parametrize("size", SIZE_CLASSES)
@pytest.mark.parametrize("cell,act", CELLS)
def test_backends_agree_on_the_same_cases(cell, act, size):
    # each backend against PyTorch, and the compiled ones against the reference too
    limits = SIZE_CLASSES[size]
    names = size.split("+")
    for name in names:
        require_cell(name, cell)

    def check(case):
        expected = oracle(case)
        results = {name: run_rnnbench(case, name) for name in names}
        for name, got in results.items():
            assert_matches(got, expected, TOLERANCE[case.dtype], case.dtype, f"{name} vs torch")
            assert_matches(got, results["reference"], TOLERANCE[case.dtype], case.dtype,
                           f"{name} vs reference")
    for_random_cases(limits, 4, st.sampled_from(DTYPES).flatmap(lambda dt: cases(limits, cell, act, dt)),
                     check)


# ---- bidirectional layers (PyTorch's), in the same suite --------------------------------------------

@pytest.mark.parametrize("cell,act", TORCH_CELLS)
def test_bidirectional_unrolled_oracle_reproduces_torch_modules(cell, act):
    # anchors the loop's reverse direction (each sequence reversed within its length) to PyTorch's
    def check(case):
        unrolled = unrolled_oracle(case)
        norms = unrolled.pop("grad_norms")
        unrolled.pop("cell_grad_norms")
        assert_matches(unrolled, module_oracle(case), 1e-12)
        assert norms.shape == (2 * case.shape[4], case.shape[0])
    for_random_cases(UNLIMITED, 6, cases(UNLIMITED, cell, act, "float64", bidirectional=True), check)


@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cell,act", TORCH_CELLS)
def test_bidirectional_matches_torch(backend, cell, act, dtype, with_lengths):
    require_cell(backend, cell)
    limits = BACKENDS[backend]

    def check(case):
        torch_sd = torch_module(case, getattr(torch, dtype)).state_dict()     # `_reverse` keys
        assert_matches(run_rnnbench(case, backend, torch_sd), oracle(case), TOLERANCE[dtype], dtype,
                       f"{backend} bidirectional {cell}/{act} {dtype} lengths={with_lengths} "
                       f"shape={case.shape}")
    # the simulator is slow: one case per setting on cuda
    for_random_cases(limits, 1 if backend == "cuda" else 3,
                     cases(limits, cell, act, dtype, with_lengths=with_lengths, bidirectional=True), check)


@pytest.mark.parametrize("cell,act", [(c, a) for c, a in CELLS if (c, a) not in TORCH_CELLS])
def test_bidirectional_cells_pytorch_lacks_match_their_loop(backend, cell, act):
    require_cell(backend, cell)
    limits = BACKENDS[backend]

    def check(case):
        assert_matches(run_rnnbench(case, backend), oracle(case), TOLERANCE[case.dtype], case.dtype,
                       f"{backend} bidirectional {cell}/{act} shape={case.shape}")
    strategy = st.sampled_from(DTYPES).flatmap(lambda dt: cases(limits, cell, act, dt, bidirectional=True))
    for_random_cases(limits, 1 if backend == "cuda" else 3, strategy, check)
