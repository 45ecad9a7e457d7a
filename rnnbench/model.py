"""Model: a stack of recurrent layers (rnnbench.RNN, any cell and backend) plus a linear readout.

    m = Model("lstm", input_size=2, hidden_size=128, output_size=1, readout="last", backend="cpu")
    y, fwd = m.forward(x, lengths)       # x: (T, B, I) -> y: (B, O) for "last", (T, B, O) for "all"
    grads, g = m.backward(fwd, dy)       # grads: state_dict keys -> arrays; g: the RNN's Grads (norms)
                                         # (None, None) when dL/dh overflows the model's dtype

readout "last" reads the top layer's final state h_n (so variable-length sequences are read at their own
last step); "all" reads every step's output. state_dict() is PyTorch's for a module that subclasses
nn.LSTM (or RNN/GRU) and adds `self.readout = nn.Linear(H, O)`: `weight_ih_l0`, ..., `readout.weight`
(O, H), `readout.bias` (O,).
"""
import numpy as np

from rnnbench.errors import InputError
from rnnbench.init import uniform
from rnnbench.checks import check_mapping, check_param, positive_int
from rnnbench.network import RNN

READOUTS = ("last", "all")


class Model:
    def __init__(self, cell, input_size, hidden_size, output_size, num_layers=1, readout="last",
                 nonlinearity=None, backend="cpu", dtype="float32", seed=0):
        if not isinstance(readout, str) or readout not in READOUTS:
            raise InputError(f"unknown readout {readout!r}; expected last or all")
        self.output_size = positive_int("output_size", output_size)
        self.rnn = RNN(cell, input_size, hidden_size, num_layers, nonlinearity, backend, dtype, seed)
        if self.output_size * hidden_size * self.dtype.itemsize >= 2 ** 63:
            raise InputError(f"output_size {output_size} x hidden_size {hidden_size} is more than an array "
                             f"can hold")
        self.readout = readout
        # nn.Linear's default: weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))
        rng = np.random.default_rng([seed, 1])
        bound = 1 / np.sqrt(hidden_size)
        self.head = {"readout.weight": uniform(rng, bound, (output_size, hidden_size), self.dtype),
                     "readout.bias": uniform(rng, bound, (output_size,), self.dtype)}

    @property
    def dtype(self):
        return self.rnn.dtype

    def params(self):
        """name -> the live parameter arrays (state_dict keys), for an optimizer to update in place; as with
        RNN.params, a forward made before this call cannot go to backward."""
        live = {f"{name}{suffix}": v for suffix, layer in zip(self.rnn.suffixes, self.rnn.params)
                for name, v in layer.items()}
        live.update(self.head)
        return live

    def state_dict(self):
        return {k: v.copy() for k, v in self.params().items()}

    def load_state_dict(self, state_dict):
        """Torch tensors or numpy arrays under state_dict()'s keys (copied); nothing changes unless all are
        good."""
        check_mapping(state_dict)
        missing = sorted(set(self.head) - set(state_dict))
        if missing:
            raise InputError(f"state_dict lacks {missing}")
        head = {k: check_param(state_dict, k, v.shape, self.dtype) for k, v in self.head.items()}
        self.rnn.load_state_dict({k: v for k, v in state_dict.items() if k not in self.head})
        self.head = head

    def forward(self, x, lengths=None, grad=True):
        """x: (T, B, I); lengths: (B,) or None. Returns (y, fwd) with y (B, O) or (T, B, O).
        grad=False: evaluation only (nothing kept for backward)."""
        fwd = self.rnn.forward(x, lengths=lengths, grad=grad)
        h = fwd.h_n[-1] if self.readout == "last" else fwd.output     # (B, H) or (T, B, H)
        return h @ self.head["readout.weight"].T + self.head["readout.bias"], fwd

    def backward(self, fwd, dy, grad_norms=True):
        """dy: dL/dy, y's shape. Returns (grads keyed like state_dict(), the RNN's Grads), or (None, None)
        when dL/dh is not finite in the model's dtype (a diverged model: the caller decides what that
        means). grad_norms=False: the Grads carry no gradient-norm curves (RNN.backward)."""
        W = self.head["readout.weight"]
        with np.errstate(over="ignore", invalid="ignore"):
            dy = np.asarray(dy, dtype=self.dtype)
            dh = dy @ W                                                    # (B, H) or (T, B, H)
        if not np.isfinite(dh).all():
            return None, None
        if self.readout == "last":
            h = fwd.h_n[-1]                                                # (B, H)
            d_h_n = np.zeros_like(fwd.h_n)
            d_h_n[-1] = dh
            g = self.rnn.backward(fwd, None, d_h_n=d_h_n, grad_norms=grad_norms, input_grad=False)
        else:
            h = fwd.output                                                 # (T, B, H)
            g = self.rnn.backward(fwd, dh, grad_norms=grad_norms, input_grad=False)
        flat_dy = dy.reshape(-1, self.output_size)
        grads = dict(g.params)
        grads["readout.weight"] = flat_dy.T @ h.reshape(-1, h.shape[-1])
        grads["readout.bias"] = flat_dy.sum(0)
        return grads, g
