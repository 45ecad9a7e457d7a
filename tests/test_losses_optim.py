"""Losses and readout against float64 central finite differences; optimizers and clipping against torch."""
import numpy as np
import pytest
import torch

from rnnbench.losses import cross_entropy, mse
from rnnbench.model import Model
from rnnbench.optim import clip, global_norm, make_optimizer

EPS = 1e-6


def numeric_grad(f, a):
    """Central differences of the scalar f() with respect to every entry of the array a (changed in place)."""
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + EPS
        up = f()
        a[i] = old - EPS
        g[i] = (up - f()) / (2 * EPS)
        a[i] = old
    return g


def test_mse_gradient_and_value():
    rng = np.random.default_rng(0)
    pred, target = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    loss, grad = mse(pred, target)
    assert loss == pytest.approx(
        torch.nn.functional.mse_loss(torch.tensor(pred), torch.tensor(target)).item())
    np.testing.assert_allclose(grad, numeric_grad(lambda: mse(pred, target)[0], pred), atol=1e-8)


def test_cross_entropy_gradient_and_value():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4, 3, 6)) * 3
    labels = rng.integers(0, 6, (4, 3))
    loss, grad = cross_entropy(logits, labels)
    ref = torch.nn.functional.cross_entropy(torch.tensor(logits).reshape(-1, 6),
                                            torch.tensor(labels).reshape(-1))
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(grad, numeric_grad(lambda: cross_entropy(logits, labels)[0], logits),
                               atol=1e-8)
    # large logits: the shifted softmax neither overflows nor loses the gradient
    big, g = cross_entropy(logits * 1e3, labels)
    assert np.isfinite(big) and np.isfinite(g).all()


@pytest.mark.parametrize("readout, cell", [("last", "lstm"), ("all", "gru"), ("last", "peephole")])
def test_model_gradients_finite_differences(readout, cell):
    """Readout and the stack below it, float64, on the reference backend (lengths vary for "last")."""
    T, B, I, H, O = 5, 3, 2, 4, 3
    m = Model(cell, I, H, O, num_layers=2, readout=readout, backend="reference", dtype="float64", seed=2)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(T, B, I))
    lengths = np.array([5, 3, 4]) if readout == "last" else None
    target = rng.normal(size=(B, O) if readout == "last" else (T, B, O))

    def loss():
        return mse(m.forward(x, lengths)[0], target)[0]

    y, fwd = m.forward(x, lengths)
    grads, _ = m.backward(fwd, mse(y, target)[1])
    live = m.params()
    assert set(grads) == set(live) and "readout.weight" in grads
    for name in ("readout.weight", "readout.bias", "weight_hh_l0", "bias_ih_l1"):
        np.testing.assert_allclose(grads[name], numeric_grad(loss, live[name]), rtol=1e-5, atol=1e-9)


def _torch_params(params):
    return {k: torch.nn.Parameter(torch.tensor(v)) for k, v in params.items()}


@pytest.mark.parametrize("name, torch_opt", [
    ("sgd", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    ("rmsprop", lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9)),
    ("adam", lambda p: torch.optim.Adam(p, lr=0.01)),
])
def test_optimizers_match_torch_step_for_step(name, torch_opt):
    rng = np.random.default_rng(4)
    params = {"a": rng.normal(size=(3, 4)).astype(np.float32), "b": rng.normal(size=5).astype(np.float32)}
    theirs = _torch_params(params)
    opt, topt = make_optimizer(name, {"sgd": 0.05, "rmsprop": 0.01, "adam": 0.01}[name], 0.9), torch_opt(
        list(theirs.values()))
    for _ in range(6):
        grads = {k: rng.normal(size=v.shape).astype(np.float32) for k, v in params.items()}
        opt.step(params, grads)
        for k, p in theirs.items():
            p.grad = torch.tensor(grads[k])
        topt.step()
        for k in params:
            np.testing.assert_allclose(params[k], theirs[k].detach().numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_by_global_norm_matches_torch(max_norm):
    rng = np.random.default_rng(5)
    grads = {"a": rng.normal(size=(4, 4)).astype(np.float32), "b": rng.normal(size=3).astype(np.float32)}
    theirs = _torch_params(grads)
    for k, p in theirs.items():
        p.grad = torch.tensor(grads[k])
    norm = global_norm(grads)
    assert norm == pytest.approx(np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in grads.values())))
    tnorm = torch.nn.utils.clip_grad_norm_(list(theirs.values()), max_norm)
    clip(grads, "norm", max_norm, norm)
    assert norm == pytest.approx(tnorm.item(), rel=1e-6)
    for k in grads:
        np.testing.assert_allclose(grads[k], theirs[k].grad.numpy(), rtol=1e-6)


def test_clip_by_value_matches_torch():
    g = {"a": np.linspace(-3, 3, 13).astype(np.float32)}
    t = torch.nn.Parameter(torch.zeros(13))
    t.grad = torch.tensor(g["a"])
    torch.nn.utils.clip_grad_value_([t], 1.5)
    clip(g, "value", 1.5)
    np.testing.assert_array_equal(g["a"], t.grad.numpy())


def test_initializations():
    from rnnbench.init import initialize
    from rnnbench.network import RNN
    rng = np.random.default_rng(6)
    m = RNN("gru", 3, 8, num_layers=2, backend="reference", dtype="float64")
    initialize(m, "orthogonal", rng=rng)
    for p in m.params:
        for g in range(3):
            w = p["weight_hh"][g * 8:(g + 1) * 8]
            np.testing.assert_allclose(w @ w.T, np.eye(8), atol=1e-12)
    m = RNN("rnn", 3, 8, nonlinearity="relu", backend="reference")
    initialize(m, "identity")
    assert (m.params[0]["weight_hh"] == np.eye(8)).all() and not m.params[0]["bias_ih"].any()
    m = RNN("lstm", 3, 8, backend="reference")
    before = m.params[0]["bias_ih"].copy()
    initialize(m, "uniform", forget_bias=2.5)
    b_ih, b_hh = m.params[0]["bias_ih"], m.params[0]["bias_hh"]
    assert (b_ih[8:16] + b_hh[8:16] == 2.5).all()                  # gate order i, f, g, o
    np.testing.assert_array_equal(b_ih[:8], before[:8])
