"""Bad input raises rnnbench.InputError (a ValueError) whose message is one sentence naming the problem,
before any work is done and without changing the model."""
import re

import numpy as np
import pytest
import torch

import rnnbench

T, B, I, H, L = 5, 2, 3, 4, 2


def _model(backend, cell="lstm", **kwargs):
    return rnnbench.RNN(cell, input_size=I, hidden_size=H, num_layers=L, backend=backend, dtype="float64",
                        **kwargs)


def _raises(fn, name):
    """fn() raises InputError with a one-line, one-sentence message that mentions `name`."""
    with pytest.raises(ValueError) as info:
        fn()
    msg = str(info.value)
    assert isinstance(info.value, rnnbench.InputError), repr(info.value)
    assert msg and "\n" not in msg, repr(msg)
    assert not re.search(r"[.;!?]\s+[A-Z]", msg), f"more than one sentence: {msg!r}"
    assert re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", msg), f"{name!r} not named in {msg!r}"


@pytest.mark.parametrize("kwargs,name", [
    ({"cell": "lstmm"}, "lstmm"),
    ({"hidden_size": 0}, "hidden_size"),
    ({"hidden_size": -3}, "hidden_size"),
    ({"hidden_size": 2.5}, "hidden_size"),
    ({"hidden_size": True}, "hidden_size"),
    ({"input_size": 0}, "input_size"),
    ({"num_layers": 0}, "num_layers"),
    ({"nonlinearity": "sigmoid"}, "sigmoid"),
    ({"cell": "gru", "nonlinearity": "relu"}, "relu"),
    ({"dtype": "float16"}, "float16"),
    ({"backend": "tpu"}, "tpu"),
])
def test_bad_constructor_arguments(kwargs, name):
    args = {"cell": "lstm", "input_size": I, "hidden_size": H, "num_layers": L, "backend": "reference", **kwargs}
    _raises(lambda: rnnbench.RNN(args.pop("cell"), **args), name)


def _x(**changes):
    x = np.random.default_rng(0).standard_normal((T, B, I))
    for index, value in changes.items():
        x[tuple(map(int, index[1:].split("_")))] = value
    return x


@pytest.mark.parametrize("cell,call,name", [
    ("lstm", lambda m: m.forward(np.zeros((T, I))), "x"),
    ("lstm", lambda m: m.forward(np.zeros((T, B, I, 1))), "x"),
    ("lstm", lambda m: m.forward(np.zeros((T, B, I + 1))), "x"),
    ("lstm", lambda m: m.forward(np.zeros((0, B, I))), "x"),
    ("lstm", lambda m: m.forward(np.zeros((T, 0, I))), "x"),
    ("lstm", lambda m: m.forward(np.full((T, B, I), "a")), "x"),
    ("lstm", lambda m: m.forward(_x(i3_1_0=np.nan)), "NaN"),
    ("rnn", lambda m: m.forward(_x(i0_0_2=np.inf)), "x"),
    ("lstm", lambda m: m.forward(_x(), h0=np.zeros((1, B, H))), "h0"),
    ("gru", lambda m: m.forward(_x(), h0=np.zeros((L, B, H + 1))), "h0"),
    ("gru", lambda m: m.forward(_x(), h0=np.full((L, B, H), np.nan)), "h0"),
    ("lstm", lambda m: m.forward(_x(), h0=(np.zeros((L, B, H)), np.zeros((L, B + 1, H)))), "c0"),
    ("gru", lambda m: m.forward(_x(), c0=np.zeros((L, B, H))), "c0"),
    ("lstm", lambda m: m.forward(_x(), lengths=[0, T]), "lengths"),
    ("lstm", lambda m: m.forward(_x(), lengths=[T + 1, 1]), "lengths"),
    ("gru", lambda m: m.forward(_x(), lengths=[-1, 2]), "lengths"),
    ("lstm", lambda m: m.forward(_x(), lengths=[T]), "lengths"),
    ("lstm", lambda m: m.forward(_x(), lengths=[[T, T]]), "lengths"),
    ("lstm", lambda m: m.forward(_x(), lengths=[2.5, 3.0]), "lengths"),
    ("rnn", lambda m: m.forward(_x(), lengths=torch.tensor([T + 1, 1])), "lengths"),
])
def test_bad_forward_input(backend, cell, call, name):
    _raises(lambda: call(_model(backend, cell)), name)


@pytest.mark.parametrize("cell,call,name", [
    ("lstm", lambda m, out: m.backward(out.output, np.zeros((T, B, H))), "forward"),
    ("lstm", lambda m, out: m.backward(out, np.zeros((T, B, H + 1))), "d_output"),
    ("lstm", lambda m, out: m.backward(out, np.zeros((T - 1, B, H))), "d_output"),
    ("gru", lambda m, out: m.backward(out, np.full((T, B, H), np.nan)), "d_output"),
    ("lstm", lambda m, out: m.backward(out, np.zeros((T, B, H)), d_h_n=np.zeros((B, H))), "d_h_n"),
    ("lstm", lambda m, out: m.backward(out, np.zeros((T, B, H)), d_c_n=np.zeros((L, B, 1))), "d_c_n"),
    ("rnn", lambda m, out: m.backward(out, np.zeros((T, B, H)), d_c_n=np.zeros((L, B, H))), "d_c_n"),
])
def test_bad_backward_input(backend, cell, call, name):
    m = _model(backend, cell)
    out = m.forward(_x())
    _raises(lambda: call(m, out), name)


def _sd_without_last(sd):
    return dict(list(sd.items())[:-1])


@pytest.mark.parametrize("cell,change,name", [
    ("lstm", lambda sd: _sd_without_last(sd), "bias_hh_l1"),
    ("peephole", lambda sd: {k: v for k, v in sd.items() if k != "weight_peephole_l0"}, "weight_peephole_l0"),
    ("lstm", lambda sd: {**sd, "weight_ih_l2": sd["weight_ih_l1"]}, "weight_ih_l2"),
    ("gru", lambda sd: {**sd, "weight_hh_l0": sd["weight_hh_l0"][:, :-1]}, "weight_hh_l0"),
    ("rnn", lambda sd: {**sd, "bias_ih_l1": np.zeros((H, 1))}, "bias_ih_l1"),
    ("lstm", lambda sd: {**sd, "weight_ih_l0": np.zeros((4 * H, I + 1))}, "weight_ih_l0"),
    ("gru", lambda sd: {**sd, "bias_hh_l0": np.full(3 * H, np.nan)}, "bias_hh_l0"),
    ("rnn", lambda sd: {k: torch.as_tensor(v) for k, v in sd.items() if not k.endswith("l1")}, "weight_ih_l1"),
])
def test_bad_state_dict_leaves_the_model_unchanged(backend, cell, change, name):
    m = _model(backend, cell)
    before = m.state_dict()
    _raises(lambda: m.load_state_dict(change(m.state_dict())), name)
    after = m.state_dict()
    assert all(np.array_equal(after[k], before[k]) for k in before)
