"""The public RNN contract the other tests rely on: PyTorch-compatible state_dict both ways, result
fields, shapes and dtypes, torch inputs, defaults, and inputs left untouched."""
import numpy as np
import pytest
import torch
from conftest import require_cell
from oracles import TORCH_MODULES, make_case, module_oracle, rel_err

import rnnbench
from rnnbench.cells import CELLS

I, H, L = 3, 5, 2


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_state_dict_round_trips_through_torch(backend, cell):
    m = rnnbench.RNN(cell, input_size=I, hidden_size=H, num_layers=L, backend=backend, seed=3)
    sd = m.state_dict()
    module = TORCH_MODULES[cell](I, H, num_layers=L)
    assert list(sd) == list(module.state_dict())
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in sd.values())
    module.load_state_dict({k: torch.as_tensor(v) for k, v in sd.items()})  # strict: same keys and shapes
    torch.nn.init.uniform_(module.weight_hh_l0)  # change it in torch, load it back from tensors
    m.load_state_dict(module.state_dict())
    assert all(np.array_equal(v, module.state_dict()[k].numpy()) for k, v in m.state_dict().items())


def test_initialization_is_seeded_and_in_pytorch_range(backend):
    def params(seed):
        return rnnbench.RNN("peephole", input_size=I, hidden_size=H, num_layers=L, backend=backend,
                            seed=seed).state_dict()
    a, b, c = params(0), params(0), params(1)
    assert list(a) == [f"{n}_l{k}" for k in range(L)
                       for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_peephole")]
    assert a["weight_peephole_l1"].shape == (3, H)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not any(np.array_equal(a[k], c[k]) for k in a)
    assert all(np.abs(v).max() <= 1 / np.sqrt(H) for v in a.values())


def test_state_dict_is_a_copy(backend):
    m = rnnbench.RNN("gru", input_size=I, hidden_size=H, backend=backend)
    m.state_dict()["weight_ih_l0"][:] = 7
    assert not np.any(m.state_dict()["weight_ih_l0"] == 7)


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_result_fields_shapes_and_dtypes(backend, cell, dtype):
    require_cell(backend, cell)
    T, B = 4, 2
    m = rnnbench.RNN(cell, input_size=I, hidden_size=H, num_layers=L, backend=backend, dtype=dtype)
    out = m.forward(np.ones((T, B, I)))  # float64 input is cast to the model's dtype
    g = m.backward(out, np.ones((T, B, H)))
    has_c = CELLS[cell].has_cell_state
    shapes = {"output": (T, B, H), "h_n": (L, B, H), "dx": (T, B, I), "dh0": (L, B, H), "grad_norms": (L, T)}
    if has_c:
        shapes.update(c_n=(L, B, H), dc0=(L, B, H), cell_grad_norms=(L, T))
    fields = {**out._asdict(), **g._asdict()}
    for name, shape in shapes.items():
        assert fields[name].shape == shape and fields[name].dtype == np.dtype(dtype), name
    for name in ("c_n", "dc0", "cell_grad_norms"):
        assert (fields[name] is not None) == has_c, name
    assert list(g.params) == list(m.state_dict())
    assert all(g.params[k].shape == v.shape and g.params[k].dtype == np.dtype(dtype)
               for k, v in m.state_dict().items())


def test_torch_inputs_and_defaults(backend):
    # torch tensors anywhere an array goes; h0=None means zeros; d_h_n, d_c_n default to zero
    case = make_case(5, "lstm", "tanh", "float64", 6, 3, I, H, L, with_lengths=True, with_h0=False)
    case.dh_n[:] = 0
    case.dc_n[:] = 0
    expected = module_oracle(case)
    m = rnnbench.RNN("lstm", input_size=I, hidden_size=H, num_layers=L, backend=backend, dtype="float64")
    m.load_state_dict({k: torch.as_tensor(v) for k, v in case.params.items()})
    out = m.forward(torch.as_tensor(case.x), h0=(torch.zeros(L, 3, H, dtype=torch.float64),
                                                 torch.zeros(L, 3, H, dtype=torch.float64)),
                    lengths=torch.as_tensor(case.lengths))
    g = m.backward(out, torch.as_tensor(case.dy))
    for name, got in [("output", out.output), ("h_n", out.h_n), ("c_n", out.c_n), ("dx", g.dx),
                      ("dh0", g.dh0), ("dc0", g.dc0)]:
        assert rel_err(got, expected[name]) <= 1e-10, name


def test_inputs_are_not_modified(backend):
    case = make_case(2, "peephole", "tanh", "float64", 5, 2, I, H, L, with_lengths=True, with_h0=True)
    arrays = {**case.params, "x": case.x, "h0": case.h0, "c0": case.c0, "lengths": case.lengths,
              "dy": case.dy, "dh_n": case.dh_n, "dc_n": case.dc_n}
    before = {k: v.copy() for k, v in arrays.items()}
    m = rnnbench.RNN("peephole", input_size=I, hidden_size=H, num_layers=L, backend=backend, dtype="float64")
    m.load_state_dict(case.params)
    out = m.forward(case.x, h0=(case.h0, case.c0), lengths=case.lengths)
    m.backward(out, case.dy, case.dh_n, case.dc_n)
    assert all(np.array_equal(arrays[k], v) for k, v in before.items())


@pytest.mark.parametrize("cell", list(CELLS))
def test_inference_forward_gives_the_same_results_and_no_backward(backend, cell):
    require_cell(backend, cell)
    rng = np.random.default_rng(4)
    T, B = 6, 3
    m = rnnbench.RNN(cell, input_size=I, hidden_size=H, num_layers=L, backend=backend, dtype="float64",
                     seed=2)
    x = rng.standard_normal((T, B, I))
    lengths = np.array([6, 2, 4])
    train, infer = m.forward(x, lengths=lengths), m.forward(x, lengths=lengths, grad=False)
    for a, b in [(train.output, infer.output), (train.h_n, infer.h_n), (train.c_n, infer.c_n)]:
        assert (a is None and b is None) or np.array_equal(a, b)
    with pytest.raises(rnnbench.InputError, match="grad=True"):
        m.backward(infer, np.ones((T, B, H)))


def test_float32_initialization_draws_no_float64_copy_and_keeps_the_seeded_values():
    """Peak memory of building a float32 model stays near its parameters' size (it was ~3x: a float64 draw of
    each parameter, then the cast), and the values are still U(-1/sqrt(H), 1/sqrt(H)) drawn by numpy's
    Generator in float64 and rounded to float32, so seeded runs keep their initial weights."""
    import tracemalloc
    I, H = 3, 512
    tracemalloc.start()
    m = rnnbench.RNN("lstm", input_size=I, hidden_size=H, backend="reference", seed=7)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    sd = m.state_dict()
    size = sum(v.nbytes for v in sd.values())
    assert peak < 1.5 * size, (peak, size)      # the float64 blocks are 0.5 MB whatever the size
    rng = np.random.default_rng(7)
    for key, shape in [("weight_ih_l0", (4 * H, I)), ("weight_hh_l0", (4 * H, H)), ("bias_ih_l0", (4 * H,)),
                       ("bias_hh_l0", (4 * H,))]:
        expected = rng.uniform(-1 / np.sqrt(H), 1 / np.sqrt(H), shape).astype(np.float32)
        np.testing.assert_array_equal(sd[key], expected, err_msg=key)


def test_load_state_dict_copies():
    """The model never shares memory with what it loaded (a torch optimizer's in-place step, or the caller's
    array changing later, would otherwise change the model's weights behind its back)."""
    m = rnnbench.RNN("gru", input_size=I, hidden_size=H, backend="reference")
    module = TORCH_MODULES["gru"](I, H)
    m.load_state_dict(module.state_dict())
    arrays = m.state_dict()
    m.load_state_dict(arrays)
    with torch.no_grad():
        module.weight_hh_l0.mul_(2)
    arrays["weight_ih_l0"][:] = 5
    np.testing.assert_array_equal(m.state_dict()["weight_hh_l0"], module.weight_hh_l0.detach().numpy() / 2)
    assert not np.any(m.state_dict()["weight_ih_l0"] == 5)


# cuda's shapes: in test_oracle_torch's bidirectional tests
@pytest.mark.parametrize("backend", ["reference", "cpu"])
@pytest.mark.parametrize("cell", list(TORCH_MODULES))
def test_bidirectional_state_dict_and_shapes_are_pytorchs(backend, cell):
    T, B, H = 3, 2, 3             # the simulator is slow: tiny
    m = rnnbench.RNN(cell, input_size=I, hidden_size=H, num_layers=L, backend=backend, bidirectional=True)
    module = TORCH_MODULES[cell](I, H, num_layers=L, bidirectional=True)
    sd = m.state_dict()
    assert list(sd) == list(module.state_dict())               # `_reverse` keys, in PyTorch's order
    assert sd["weight_ih_l1"].shape == sd["weight_ih_l1_reverse"].shape == (module.weight_ih_l1.shape)
    module.load_state_dict({k: torch.as_tensor(v) for k, v in sd.items()})    # strict
    out = m.forward(np.ones((T, B, I)))
    g = m.backward(out, np.ones((T, B, 2 * H)))
    assert out.output.shape == (T, B, 2 * H) and out.h_n.shape == (2 * L, B, H) and g.dx.shape == (T, B, I)
    assert g.dh0.shape == (2 * L, B, H) and g.grad_norms.shape == (2 * L, T) and list(g.params) == list(sd)
    with pytest.raises(rnnbench.InputError, match="d_output has shape"):
        m.backward(out, np.ones((T, B, H)))
    with pytest.raises(rnnbench.InputError, match="bidirectional must be True or False"):
        rnnbench.RNN(cell, I, H, backend=backend, bidirectional="yes")
