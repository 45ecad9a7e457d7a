"""IndRNN (Li, Li, Cook, Zhu & Gao 2018) beyond the shared oracle suite, which already runs it
(tests/oracles.py ORACLES) on every backend that implements it against its PyTorch autograd loop and finite
differences:

- outputs, every gradient, dx, dh0 and grad_norms against the autograd loop of its equations, on
  hypothesis-drawn shapes, explicitly with and without lengths, both nonlinearities, both dtypes, on every
  backend (cuda's kernels in numba's simulator where no GPU is present);
- the paper's initialization of the recurrent weights, in [0, 2^(1/T)] for the run's T;
- the PyTorch eager loop the bench compares with, against the NumPy reference;
- its place in configs, training on every task, `rnnbench gradnorm`.
"""
import numpy as np
import pytest
import torch
from conftest import BACKENDS
from hypothesis import strategies as st
from oracles import TOLERANCE, assert_matches, for_random_cases, make_case, oracle, run_rnnbench

import rnnbench
from rnnbench import cli
from rnnbench.bench.torch_cells import TorchIndRNN
from rnnbench.config import normalize
from rnnbench.init import initialize
from rnnbench.train import build, train


def _cases(limits, act, dtype, with_lengths):
    return st.builds(make_case, st.integers(0, 2**32 - 1), st.just("indrnn"), st.just(act), st.just(dtype),
                     st.integers(1, min(40, limits.T)), st.integers(1, min(8, limits.B)),
                     st.integers(1, min(6, limits.I)), st.integers(1, min(33, limits.H)),
                     st.integers(1, 2), st.just(with_lengths), st.booleans())


@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_matches_its_autograd_loop(backend, act, dtype, with_lengths):
    limits = BACKENDS[backend]

    def check(case):
        got = run_rnnbench(case, backend)
        assert_matches(got, oracle(case), TOLERANCE[dtype], dtype,
                       f"{backend} indrnn/{act} {dtype} lengths={with_lengths} shape={case.shape}")
    for_random_cases(limits, 6, _cases(limits, act, dtype, with_lengths), check)


def test_recurrent_weights_follow_the_paper_bound():
    H, L = 2000, 2
    m = rnnbench.RNN("indrnn", 3, H, num_layers=L, backend="reference", dtype="float64", seed=0)
    for k in range(L):                      # no T known: U(0, 1), the bound's limit as T grows
        w = m.state_dict()[f"weight_hh_l{k}"]
        assert w.shape == (H,) and w.min() >= 0 and w.max() <= 1 and w.max() > 0.99
        assert np.abs(m.state_dict()[f"weight_ih_l{k}"]).max() <= 1 / np.sqrt(H)   # PyTorch's range
    for T in (10, 1000):
        initialize(m, "uniform", rng=np.random.default_rng(1), seq_len=T)
        bound = 2 ** (1 / T)
        for k in range(L):
            w = m.state_dict()[f"weight_hh_l{k}"]
            assert w.min() >= 0 and w.max() <= bound and w.max() > bound - 2e-3 * bound
    # training draws them for the run's sequence length
    config = normalize({"cell": "indrnn", "seq_len": 50, "hidden": H, "test_size": 1})
    w = build(config)[1].rnn.state_dict()["weight_hh_l0"]
    assert w.min() >= 0 and 2 ** (1 / 50) - 5e-3 < w.max() <= 2 ** (1 / 50)


def test_config_defaults_and_refusals():
    cfg = normalize({"cell": "indrnn"})
    assert cfg["nonlinearity"] == "relu" and cfg["forget_bias"] is None
    assert normalize({"cell": "indrnn", "nonlinearity": "tanh"})["nonlinearity"] == "tanh"
    with pytest.raises(rnnbench.InputError, match="orthogonal needs a recurrent weight matrix"):
        normalize({"cell": "indrnn", "init": "orthogonal"})
    with pytest.raises(rnnbench.InputError, match="identity"):
        normalize({"cell": "indrnn", "init": "identity"})
    with pytest.raises(rnnbench.InputError, match="forget_bias"):
        normalize({"cell": "indrnn", "forget_bias": 2.0})


def test_torch_loop_matches_reference_forward_and_gradients():
    T, B, I, H = 6, 3, 4, 5
    ref = rnnbench.RNN("indrnn", I, H, backend="reference", dtype="float64", seed=1)
    mod = TorchIndRNN(I, H, dtype=torch.float64)
    mod.load_state_dict({k: torch.from_numpy(v) for k, v in ref.state_dict().items()})
    rng = np.random.default_rng(2)
    x, dy = rng.standard_normal((T, B, I)), rng.standard_normal((T, B, H))
    out = ref.forward(x)
    g = ref.backward(out, dy)
    xt = torch.from_numpy(x).requires_grad_(True)
    y, h_n = mod(xt)
    y.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(y.detach().numpy(), out.output, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_n.detach().numpy(), out.h_n, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), g.dx, rtol=1e-10, atol=1e-12)
    for name, p in mod.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), g.params[name], rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("task", ["adding", "copy", "timing", "forecasting"])
def test_trains_on_every_task(task):
    config = normalize({"task": task, "cell": "indrnn", "seq_len": 8, "hidden": 6, "layers": 2, "batch": 4,
                        "steps": 3, "eval_every": 3, "gradnorm_every": 3, "test_size": 4, "backend": "cpu",
                        "checkpoint_every": 0, "horizon": 2 if task == "forecasting" else None})
    result = train(config)
    assert result.status == "done" and result.step == 3
    assert np.isfinite([r["test_loss"] for r in result.metrics]).all()
    assert {r["layer"] for r in result.gradnorms} == {0, 1}


def test_gradnorm_command_writes_its_curves(tmp_path):
    out = tmp_path / "g.csv"
    assert cli.main(["gradnorm", "--cells", "indrnn,rnn", "--seq-len", "12", "--hidden", "8",
                              "--batch", "4", "--out", str(out)]) == 0
    lines = [line for line in out.read_text().splitlines() if not line.startswith("#")]
    cells = {line.split(",")[0] for line in lines[1:]}
    assert cells == {"indrnn", "rnn"} and len(lines) == 1 + 2 * 12
