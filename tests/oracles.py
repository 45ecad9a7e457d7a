"""Independent oracles for the cell tests: PyTorch's own modules, and a PyTorch autograd loop written here
from the cell equations (the only oracle for cells PyTorch lacks, and the source of the per-step gradient
norms). ORACLES holds each cell's equations as the oracle knows them; every registered cell (rnnbench.cells)
must have one (tests/test_registry.py), and the suite runs every registered cell with every nonlinearity it
takes (CELLS).

Every oracle runs in float64 on values that are exactly representable in the test's dtype, so an error
measured against it is rnnbench's alone. The loss is

    L = sum(y * dy) + sum(h_n * dh_n) (+ sum(c_n * dc_n))

with fixed random dy, dh_n, dc_n, so torch's gradients are the vector-Jacobian products that
rnnbench's backward(out, dy, dh_n, dc_n) returns.

Relative error, used everywhere: rel_err(a, b) = max|a - b| / max(max|b|, 1e-12), b the oracle.
"""
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnbench
from rnnbench.cells import CELLS as REGISTERED

torch.set_num_threads(1)  # the problems are tiny: more threads only contend on a shared machine

TOLERANCE = {"float64": 1e-10, "float32": 1e-4}
TORCH_MODULES = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}


def rel_err(a, b):
    """max|a - b| / max(max|b|, 1e-12): b is the oracle; the floor keeps all-zero oracles finite."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"shape {a.shape} != oracle shape {b.shape}"
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


@dataclass
class Case:
    """One random problem: float64 arrays whose values are exactly representable in `dtype`."""
    cell: str
    act: str
    dtype: str
    x: np.ndarray                   # (T, B, I)
    params: dict                    # PyTorch state_dict keys -> arrays
    h0: Optional[np.ndarray]        # (L*D, B, H), None = zeros, not passed to rnnbench
    c0: Optional[np.ndarray]        # (L*D, B, H) with h0 for lstm/peephole, else None
    lengths: Optional[np.ndarray]   # (B,) int64 in 1..T, or None
    dy: np.ndarray                  # (T, B, D*H)
    dh_n: np.ndarray                # (L*D, B, H)
    dc_n: Optional[np.ndarray]      # (L*D, B, H) for lstm/peephole, else None
    bidirectional: bool = False     # D = 2 directions, PyTorch's layout (row 2k + d of h0, h_n, ...)

    @property
    def directions(self):
        return 2 if self.bidirectional else 1

    @property
    def shape(self):
        """(T, B, I, H, L)."""
        T, B, I = self.x.shape
        return T, B, I, self.dh_n.shape[2], self.dh_n.shape[0] // self.directions


def param_shapes(cell, I, H, L, directions=1):
    """Parameter names and shapes as nn.RNN/GRU/LSTM have them (torch_module's strict load checks it),
    plus the peephole diagonals (3, H) per layer, and (G*H,) recurrent weights for a vector recurrence;
    with two directions each layer's reverse ones follow its own under `_reverse` names."""
    o = ORACLES[cell]
    gh = o.gates * H
    shapes = {}
    for k in range(L):
        size_in = I if k == 0 else directions * H
        for suffix in (f"_l{k}", f"_l{k}_reverse")[:directions]:
            shapes.update({f"weight_ih{suffix}": (gh, size_in),
                           f"weight_hh{suffix}": (gh,) if o.vector_recurrent else (gh, H),
                           f"bias_ih{suffix}": (gh,), f"bias_hh{suffix}": (gh,)})
            if o.peepholes:
                shapes[f"weight_peephole{suffix}"] = (3, H)
    return shapes


def make_case(seed, cell, act, dtype, T, B, I, H, L, with_lengths, with_h0, bidirectional=False):
    """A Case of these sizes drawn from `seed`: values uniform in [-1, 1], parameters in PyTorch's
    init range; random lengths and initial states where asked; two directions per layer if bidirectional."""
    rng = np.random.default_rng(seed)

    def draw(shape, scale=1.0):
        return rng.uniform(-scale, scale, shape).astype(dtype).astype(np.float64)

    has_c = ORACLES[cell].has_cell_state
    bound = 1 / np.sqrt(H)  # PyTorch's default init range
    D = 2 if bidirectional else 1
    params = {key: draw(shape, bound) for key, shape in param_shapes(cell, I, H, L, D).items()}
    return Case(
        cell=cell, act=act, dtype=dtype, x=draw((T, B, I)), params=params,
        h0=draw((L * D, B, H)) if with_h0 else None,
        c0=draw((L * D, B, H)) if with_h0 and has_c else None,
        lengths=rng.integers(1, T + 1, B).astype(np.int64) if with_lengths else None,
        dy=draw((T, B, D * H)), dh_n=draw((L * D, B, H)), dc_n=draw((L * D, B, H)) if has_c else None,
        bidirectional=bidirectional)


# ---- hypothesis: random cases within a backend's limits ------------------------------------------------

def cases(limits, cell, act, dtype, with_lengths=None, bidirectional=False):
    """Strategy for Cases with T 1..40, B 1..8, I 1..6, H 1..33, 1 or 2 layers, capped by `limits`,
    with or without initial states, and lengths (drawn, or as `with_lengths` says); bidirectional or not."""
    lengths = st.booleans() if with_lengths is None else st.just(with_lengths)
    return st.builds(
        make_case, st.integers(0, 2**32 - 1), st.just(cell), st.just(act), st.just(dtype),
        st.integers(1, min(40, limits.T)), st.integers(1, min(8, limits.B)),
        st.integers(1, min(6, limits.I)), st.integers(1, min(33, limits.H)),
        st.integers(1, 2), lengths, st.booleans(), bidirectional=st.just(bidirectional))


def for_random_cases(limits, max_examples, strategy, check):
    """Run check(case) on hypothesis-drawn cases, at most `max_examples` and at most the backend's cap."""
    # derandomized: every run checks the same cases, so a CI result never depends on the draw
    @settings(max_examples=min(max_examples, limits.examples), deadline=None, database=None, derandomize=True)
    @given(strategy)
    def run(case):
        check(case)
    run()


# ---- the oracles -----------------------------------------------------------------------------------

def _t(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def _states(case):
    """Leaf tensors h0 (and c0) the oracle differentiates: zeros where the case passes none."""
    T, B, I, H, L = case.shape
    LD = L * case.directions
    h0 = _t(case.h0 if case.h0 is not None else np.zeros((LD, B, H)), grad=True)
    c0 = None
    if ORACLES[case.cell].has_cell_state:
        c0 = _t(case.c0 if case.c0 is not None else np.zeros((LD, B, H)), grad=True)
    return h0, c0


def _loss(case, y, h_n, c_n):
    loss = (y * _t(case.dy)).sum() + (h_n * _t(case.dh_n)).sum()
    if c_n is not None:
        loss = loss + (c_n * _t(case.dc_n)).sum()
    return loss


def _result(y, h_n, c_n, x, h0, c0, params):
    """The oracle's values and gradients as numpy arrays under rnnbench's names."""
    return {
        "output": y.detach().numpy(), "h_n": h_n.detach().numpy(),
        "c_n": None if c_n is None else c_n.detach().numpy(),
        "dx": x.grad.numpy(), "dh0": h0.grad.numpy(), "dc0": None if c0 is None else c0.grad.numpy(),
        "params": {key: p.grad.numpy() for key, p in params.items()},
    }


def torch_module(case, dtype=torch.float64):
    """PyTorch's nn.RNN / nn.GRU / nn.LSTM holding the case's parameters."""
    T, B, I, H, L = case.shape
    kwargs = {"nonlinearity": case.act} if case.cell == "rnn" else {}
    module = TORCH_MODULES[case.cell](I, H, num_layers=L, dtype=dtype, bidirectional=case.bidirectional,
                                      **kwargs)
    module.load_state_dict({key: torch.tensor(v, dtype=dtype) for key, v in case.params.items()})
    return module


def module_oracle(case):
    """Values and gradients from PyTorch's module; variable lengths go through pack_padded_sequence."""
    module = torch_module(case)
    x = _t(case.x, grad=True)
    h0, c0 = _states(case)
    hx = (h0, c0) if c0 is not None else h0
    if case.lengths is None:
        y, hn = module(x, hx)
    else:
        packed = pack_padded_sequence(x, torch.as_tensor(case.lengths), enforce_sorted=False)
        y, hn = module(packed, hx)
        y, _ = pad_packed_sequence(y, total_length=x.shape[0])
    h_n, c_n = hn if c0 is not None else (hn, None)
    _loss(case, y, h_n, c_n).backward()
    return _result(y, h_n, c_n, x, h0, c0, dict(module.named_parameters()))


def _rnn(p, a, b, h, c, act, carry):
    return carry(torch.tanh(a + b) if act == "tanh" else torch.relu(a + b), h), None


def _gru(p, a, b, h, c, act, carry):
    (a_r, a_z, a_n), (b_r, b_z, b_n) = a.chunk(3, 1), b.chunk(3, 1)
    r, z = torch.sigmoid(a_r + b_r), torch.sigmoid(a_z + b_z)
    n = torch.tanh(a_n + r * b_n)
    return carry((1 - z) * n + z * h, h), None


def _lstm(p, a, b, h, c, act, carry):
    a_i, a_f, a_g, a_o = (a + b).chunk(4, 1)
    i, f, g = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g)
    c_t = carry(f * c + i * g, c)
    return carry(torch.sigmoid(a_o) * torch.tanh(c_t), h), c_t


def _peephole(p, a, b, h, c, act, carry):
    a_i, a_f, a_g, a_o = (a + b).chunk(4, 1)
    w_i, w_f, w_o = p["weight_peephole"]
    i, f, g = torch.sigmoid(a_i + w_i * c), torch.sigmoid(a_f + w_f * c), torch.tanh(a_g)
    c_t = carry(f * c + i * g, c)
    return carry(torch.sigmoid(a_o + w_o * c_t) * torch.tanh(c_t), h), c_t


def _indrnn(p, a, b, h, c, act, carry):
    # Li et al. 2018: h_t = act(W_ih x_t + b_ih + w_hh * h_{t-1} + b_hh), b the elementwise recurrence
    return carry(torch.relu(a + b) if act == "relu" else torch.tanh(a + b), h), None


@dataclass(frozen=True)
class OracleCell:
    """A cell as the oracle knows it, from its paper's equations: step(p, a, b, h, c, act, carry) ->
    (h_t, c_t) with a = W_ih x_t + b_ih and b = W_hh h_{t-1} + b_hh (elementwise w_hh * h_{t-1} + b_hh for a
    vector recurrent weight), plus its parameter layout."""
    step: Callable
    gates: int
    has_cell_state: bool = False
    peepholes: bool = False          # weight_peephole (3, H)
    vector_recurrent: bool = False   # weight_hh (G*H,)


# one entry per registered cell
ORACLES = {
    "rnn": OracleCell(_rnn, 1),
    "gru": OracleCell(_gru, 3),
    "lstm": OracleCell(_lstm, 4, has_cell_state=True),
    "peephole": OracleCell(_peephole, 4, has_cell_state=True, peepholes=True),
    "indrnn": OracleCell(_indrnn, 1, vector_recurrent=True),
}
# (cell, nonlinearity) pairs the suite runs: every registered cell with every nonlinearity it takes
CELLS = [(name, act) for name, spec in REGISTERED.items() for act in spec.nonlinearities]
# the pairs PyTorch has a module for; the others are checked against the loop below only
TORCH_CELLS = [(cell, act) for cell, act in CELLS if cell in TORCH_MODULES]


def cell_step(cell, act, p, x, h, c, carry):
    """One step of `cell` written from its equations. x: (B, I_k); h, c: (B, H). Returns the new (h_t, c_t).

    carry(new, old) -> the state kept (the lengths mask). It is applied to c_t before h_t is computed
    from it, so c_t's gradient is the total dL/dc_t, through h_t of the same step too.
    """
    oracle_cell = ORACLES[cell]
    a = F.linear(x, p["weight_ih"], p["bias_ih"])
    b = (p["weight_hh"] * h + p["bias_hh"] if oracle_cell.vector_recurrent
         else F.linear(h, p["weight_hh"], p["bias_hh"]))
    return oracle_cell.step(p, a, b, h, c, act, carry)


def unrolled_oracle(case):
    """The stack unrolled step by step in autograd, with the lengths mask of the design:
    h_t = where(t < len, step, h_{t-1}) (c_t likewise), output_t = where(t < len, h_t, 0).

    Besides values and gradients, returns grad_norms[k, t] = ||dL/dh_t|| of layer k (h_t.grad after
    retain_grad, i.e. through all later steps and layers) and cell_grad_norms the same for c_t.

    Bidirectional (PyTorch's): layer k's reverse direction (row 2k + 1) runs the same loop on each sequence
    reversed within its length, its outputs reversed back and set beside the forward ones; its norms, taken
    in the order it runs (step s), are listed flipped (column T-1-s), as rnnbench documents them.
    """
    T, B, I, H, L = case.shape
    D = case.directions
    params = {key: _t(v, grad=True) for key, v in case.params.items()}
    x = _t(case.x, grad=True)
    h0, c0 = _states(case)
    lengths = case.lengths if case.lengths is not None else np.full(B, T)
    live = [torch.as_tensor(t < lengths)[:, None] for t in range(T)]  # (B, 1) per step
    steps = np.arange(T)[:, None]
    index = torch.as_tensor(np.where(steps < lengths, lengths - 1 - steps, steps))     # (T, B)

    def reverse(a):      # a: (T, B, F), each sequence reversed within its length
        return a[index, torch.arange(B)]

    inp, hs, cs, h_n, c_n = x, [], [], [], []
    for k in range(L):
        directions = []
        for d in range(D):
            suffix = f"_l{k}_reverse" if d else f"_l{k}"
            p = {key[:-len(suffix)]: v for key, v in params.items() if key.endswith(suffix)}
            seq = reverse(inp) if d else inp
            h, c = h0[k * D + d], None if c0 is None else c0[k * D + d]
            outs, hs_k, cs_k = [], [], []
            for t in range(T):
                h, c = cell_step(case.cell, case.act, p, seq[t], h, c,
                                 lambda new, old: torch.where(live[t], new, old))
                h.retain_grad()
                hs_k.append(h)
                if c is not None:
                    c.retain_grad()
                    cs_k.append(c)
                outs.append(torch.where(live[t], h, torch.zeros_like(h)))
            out = torch.stack(outs)
            directions.append(reverse(out) if d else out)
            hs.append(hs_k[::-1] if d else hs_k)
            cs.append(cs_k[::-1] if d else cs_k)
            h_n.append(h)
            c_n.append(c)
        inp = torch.cat(directions, dim=2)
    h_n = torch.stack(h_n)
    c_n = torch.stack(c_n) if c0 is not None else None
    _loss(case, inp, h_n, c_n).backward()
    result = _result(inp, h_n, c_n, x, h0, c0, params)
    result["grad_norms"] = np.array([[torch.linalg.norm(h.grad).item() for h in hs_k] for hs_k in hs])
    result["cell_grad_norms"] = (np.array([[torch.linalg.norm(c.grad).item() for c in cs_k] for cs_k in cs])
                                 if c0 is not None else None)
    return result


def oracle(case):
    """The expected result: PyTorch's module where one exists, else the unrolled loop; the gradient norms
    always from the unrolled loop."""
    unrolled = unrolled_oracle(case)
    if case.cell not in TORCH_MODULES:
        return unrolled
    return {**module_oracle(case), "grad_norms": unrolled["grad_norms"],
            "cell_grad_norms": unrolled["cell_grad_norms"]}


# ---- rnnbench under test ------------------------------------------------------------------------------

def run_rnnbench(case, backend, state_dict=None):
    """Forward and backward through rnnbench, arrays cast to the case's dtype; results as oracle()'s dict.
    state_dict: what to load (default: the case's parameters as numpy arrays of its dtype)."""
    T, B, I, H, L = case.shape
    m = rnnbench.RNN(case.cell, input_size=I, hidden_size=H, num_layers=L, nonlinearity=case.act,
                     backend=backend, dtype=case.dtype, seed=0, bidirectional=case.bidirectional)

    def cast(a):
        return None if a is None else a.astype(case.dtype)
    m.load_state_dict(state_dict if state_dict is not None
                      else {key: cast(v) for key, v in case.params.items()})
    h0 = cast(case.h0)
    if case.c0 is not None:
        h0 = (h0, cast(case.c0))  # PyTorch's (h0, c0) tuple
    out = m.forward(cast(case.x), h0=h0, lengths=case.lengths)
    g = m.backward(out, cast(case.dy), cast(case.dh_n), cast(case.dc_n))
    return {"output": out.output, "h_n": out.h_n, "c_n": out.c_n, "dx": g.dx, "dh0": g.dh0, "dc0": g.dc0,
            "params": g.params, "grad_norms": g.grad_norms, "cell_grad_norms": g.cell_grad_norms}


def flatten(result):
    """{name: array} with parameter gradients as `d<key>`; None entries dropped."""
    flat = {f"d{key}": v for key, v in result["params"].items()}
    flat.update({name: v for name, v in result.items() if name != "params" and v is not None})
    return flat


def assert_matches(got, expected, tol, dtype=None, what=""):
    """Every array of `expected` is in `got` with the same shape (and dtype) within rel_err <= tol."""
    got, expected = flatten(got), flatten(expected)
    assert sorted(got) == sorted(expected), f"{what}: results {sorted(got)} != expected {sorted(expected)}"
    errors = {}
    for name, want in expected.items():
        if dtype is not None:
            assert got[name].dtype == np.dtype(dtype), f"{what}: {name} has dtype {got[name].dtype}"
        errors[name] = rel_err(got[name], want)
    bad = {name: f"{e:.3g}" for name, e in errors.items() if not e <= tol}
    assert not bad, f"{what}: relative error above {tol:g}: {bad}"
    return errors
