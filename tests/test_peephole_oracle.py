"""Peephole LSTM on every backend against a PyTorch autograd loop written from the design's equations
(tests/oracles.py cell_step), which with zero peepholes must reproduce PyTorch's nn.LSTM."""
import dataclasses

import numpy as np
import pytest
from conftest import BACKENDS
from oracles import (TOLERANCE, assert_matches, cases, for_random_cases, module_oracle, oracle, run_rnnbench,
                     unrolled_oracle)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_peephole_matches_torch_loop(backend, dtype):
    limits = BACKENDS[backend]

    def check(case):
        assert_matches(run_rnnbench(case, backend), oracle(case), TOLERANCE[dtype], dtype,
                       f"{backend} peephole {dtype} shape (T, B, I, H, L)={case.shape}")
    for_random_cases(limits, 20, cases(limits, "peephole", "tanh", dtype), check)


def _without_peepholes(case):
    """The same case with zero peephole weights, and as a plain lstm case (no peephole parameters)."""
    zeroed = {key: np.zeros_like(v) if key.startswith("weight_peephole") else v
              for key, v in case.params.items()}
    lstm = {key: v for key, v in case.params.items() if not key.startswith("weight_peephole")}
    return dataclasses.replace(case, params=zeroed), dataclasses.replace(case, cell="lstm", params=lstm)


def test_zero_peepholes_are_torch_lstm(backend):
    limits = BACKENDS[backend]

    def check(case):
        peephole, lstm = _without_peepholes(case)
        expected = module_oracle(lstm)
        loop = unrolled_oracle(peephole)
        got = run_rnnbench(peephole, backend)
        for result in (loop, got):
            result.pop("grad_norms")
            result.pop("cell_grad_norms")
            result["params"] = {k: v for k, v in result["params"].items()
                                if not k.startswith("weight_peephole")}
        assert_matches(loop, expected, 1e-12, what="peephole loop vs nn.LSTM")
        assert_matches(got, expected, TOLERANCE["float64"], "float64", f"{backend} peephole vs nn.LSTM")
    for_random_cases(limits, 5, cases(limits, "peephole", "tanh", "float64"), check)
