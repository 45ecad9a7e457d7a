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
    args = {"cell": "lstm", "input_size": I, "hidden_size": H, "num_layers": L, "backend": "reference",
            **kwargs}
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
    ("rnn", lambda sd: {k: torch.as_tensor(v) for k, v in sd.items() if not k.endswith("l1")},
     "weight_ih_l1"),
])
def test_bad_state_dict_leaves_the_model_unchanged(backend, cell, change, name):
    m = _model(backend, cell)
    before = m.state_dict()
    _raises(lambda: m.load_state_dict(change(m.state_dict())), name)
    after = m.state_dict()
    assert all(np.array_equal(after[k], before[k]) for k in before)


def _ref(cell="lstm", **kwargs):
    return rnnbench.RNN(cell, input_size=I, hidden_size=H, num_layers=L, backend="reference", **kwargs)


def _bf16(sd):
    return {k: torch.as_tensor(v).to(torch.bfloat16) for k, v in sd.items()}


@pytest.mark.parametrize("kwargs,name", [
    ({"seed": -1}, "seed"),
    ({"seed": "abc"}, "seed"),
    ({"seed": 1.5}, "seed"),
    ({"seed": None}, "seed"),
    ({"dtype": np.float16}, "float16"),
    ({"dtype": None}, "dtype"),
    ({"dtype": "no-such-type"}, "no-such-type"),
    ({"cell": ["lstm"]}, "lstm"),
    ({"backend": ["cpu"]}, "cpu"),
    ({"nonlinearity": np.array(["tanh"])}, "nonlinearity"),
])
def test_bad_constructor_arguments_of_any_type(kwargs, name):
    args = {"cell": "lstm", "input_size": I, "hidden_size": H, "backend": "reference", **kwargs}
    _raises(lambda: rnnbench.RNN(args.pop("cell"), **args), name)


@pytest.mark.parametrize("dtype", ["float32", "float64", np.float32, np.float64, np.dtype("float32"),
                                   np.dtype("float64")])
def test_dtype_as_name_class_or_numpy_dtype(dtype):
    m = _ref(dtype=dtype)
    assert m.dtype == np.dtype(dtype)
    assert m.forward(_x()).output.dtype == np.dtype(dtype)


@pytest.mark.parametrize("call,name", [
    # finite before the cast, infinite after it: refused, not run into Inf outputs
    (lambda m: m.forward(np.full((T, B, I), 1e300)), "x"),
    (lambda m: m.forward(_x(), h0=np.full((L, B, H), -1e39)), "h0"),
    (lambda m: m.forward(_x(i1_1_1=1e39)), "float32"),
    (lambda m: m.backward(m.forward(_x()), np.full((T, B, H), 1e300)), "d_output"),
    (lambda m: m.forward(_x() + 1j), "x"),                                 # the imaginary part is not dropped
    (lambda m: m.forward(_x() * (1 + 0j)), "complex128"),
    (lambda m: m.forward(torch.as_tensor(_x()).to(torch.bfloat16)), "bfloat16"),
    (lambda m: m.forward([[[0.0] * I] * B] * (T - 1) + [[[0.0] * I]]), "x"),   # ragged nested lists
    (lambda m: m.forward(_x(), h0=(np.zeros((L, B, H)),) * 3), "h0"),
    (lambda m: m.forward(_x(), lengths=[[T], [T, T]]), "lengths"),
])
def test_values_the_model_dtype_cannot_hold(call, name):
    _raises(lambda: call(_ref(dtype="float32")), name)


@pytest.mark.parametrize("change,name", [
    (lambda sd: None, "state_dict"),
    (lambda sd: "weights", "state_dict"),
    (lambda sd: list(sd.items()), "state_dict"),
    (lambda sd: {k: None for k in sd}, "weight_ih_l0"),
    (lambda sd: {k: np.full(v.shape, "a") for k, v in sd.items()}, "weight_ih_l0"),
    (lambda sd: {**sd, "bias_hh_l1": sd["bias_hh_l1"] + 1j}, "bias_hh_l1"),
    (lambda sd: {**sd, "weight_hh_l1": np.full(sd["weight_hh_l1"].shape, 1e39)},
     "weight_hh_l1"),   # > float32 max
    (_bf16, "bfloat16"),
    (lambda sd: {**sd, 3: sd["bias_hh_l1"], "extra": 0}, "extra"),
])
def test_bad_state_dict_of_any_type_leaves_the_model_unchanged(change, name):
    m = _ref(dtype="float32")
    before = m.state_dict()
    _raises(lambda: m.load_state_dict(change(m.state_dict())), name)
    assert all(np.array_equal(m.state_dict()[k], v) for k, v in before.items())


def test_model_state_dict_is_checked_whole_before_any_change():
    """A bad recurrent weight leaves the readout unchanged too (the head used to be replaced first)."""
    from rnnbench.model import Model
    m = Model("gru", I, H, 2, backend="reference")
    before = m.state_dict()
    sd = {k: v + 1 for k, v in before.items()}
    sd["weight_hh_l0"][0, 0] = np.nan
    _raises(lambda: m.load_state_dict(sd), "weight_hh_l0")
    assert all(np.array_equal(m.state_dict()[k], v) for k, v in before.items())
    _raises(lambda: m.load_state_dict(None), "state_dict")
    _raises(lambda: m.load_state_dict({k: v for k, v in before.items() if k != "readout.bias"}),
            "readout.bias")
    for bad in ({"output_size": 0}, {"readout": ["last"]}, {"seed": -2}):
        args = {"output_size": 2, **bad}
        _raises(lambda: Model("gru", I, H, args.pop("output_size"), backend="reference", **args),
                next(iter(bad)))


def test_backward_refuses_a_forward_made_with_other_weights():
    m, other = _ref(seed=1), _ref(seed=2)
    out = m.forward(_x())
    _raises(lambda: other.backward(out, np.ones((T, B, H))), "forward")      # another model's forward
    m.load_state_dict(other.state_dict())
    _raises(lambda: m.backward(out, np.ones((T, B, H))), "forward")          # weights loaded since
    out = m.forward(_x())
    m.params[0]["weight_hh"] *= 2                                            # changed in place, as an
                                                                             # optimizer does
    _raises(lambda: m.backward(out, np.ones((T, B, H))), "forward")
    out = m.forward(_x())
    m.state_dict()                                                           # reading copies changes nothing
    assert m.backward(out, np.ones((T, B, H))).dx.shape == (T, B, I)


def test_optimizer_step_between_forward_and_backward_is_refused():
    from rnnbench.model import Model
    from rnnbench.optim import make_optimizer
    m = Model("lstm", I, H, 1, backend="reference", dtype="float64")
    opt = make_optimizer("sgd", 0.1)
    y, fwd = m.forward(_x())
    grads, _ = m.backward(fwd, np.ones_like(y))
    stale = m.forward(_x())[1]
    opt.step(m.params(), grads)
    with pytest.raises(rnnbench.InputError, match="forward"):
        m.backward(stale, np.ones_like(y))
    y, fwd = m.forward(_x())                                                   # the loop's order works
    assert np.isfinite(m.backward(fwd, np.ones_like(y))[0]["weight_hh_l0"]).all()


@pytest.mark.parametrize("kwargs", [{"num_layers": 10**30}, {"hidden_size": 2**31}, {"input_size": 10**20}])
def test_sizes_no_array_can_hold_are_refused_before_any_work(kwargs):
    """These used to hang (a Python loop over 1e30 layers) or raise numpy's ValueError/TypeError."""
    args = {"input_size": I, "hidden_size": H, **kwargs}
    _raises(lambda: rnnbench.RNN("lstm", backend="reference", **args), next(iter(kwargs)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_all_finite_matches_numpy_at_every_position(dtype):
    # the exponent-bit scan behind every finiteness check, against np.isfinite: inf, -inf and NaN (quiet,
    # signalling, negative) anywhere, beside the largest finite values and subnormals
    from rnnbench.checks import all_finite
    info = np.finfo(dtype)
    base = np.array([0.0, -0.0, 1.0, info.max, -info.max, info.tiny, info.smallest_subnormal] * 5, dtype)
    assert all_finite(base) and all_finite(base[:0]) and all_finite(base.reshape(5, 7))
    bad = [np.inf, -np.inf, np.nan, -np.nan,
           np.frombuffer(np.array([0x7F800001 if dtype == "float32" else 0x7FF0000000000001],
                                  "u4" if dtype == "float32" else "u8").tobytes(), dtype)[0]]
    for value in bad:
        for i in (0, 17, base.size - 1):
            a = base.copy()
            a[i] = value
            assert not np.isfinite(a).all() and not all_finite(a)
    assert not all_finite(np.array([[1.0, np.nan]], dtype).T)        # not contiguous: NumPy's check
