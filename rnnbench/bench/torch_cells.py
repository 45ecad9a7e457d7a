"""PyTorch comparators: the torch module that computes the same layer as an rnnbench cell, same parameters.

rnn, gru and lstm are PyTorch's own nn.RNN (tanh), nn.GRU and nn.LSTM. PyTorch has no peephole LSTM, so
TorchPeephole is an eager PyTorch loop of the peephole equations (Gers, Schraudolph & Schmidhuber 2002),
written from them, with PyTorch's LSTM parameter layout plus the diagonal peephole weights:

    a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh                  (B, 4H), gate order i, f, g, o
    i = s(a_i + p_i * c_{t-1});  f = s(a_f + p_f * c_{t-1});  g = tanh(a_g)
    c_t = f * c_{t-1} + i * g;   o = s(a_o + p_o * c_t);      h_t = o * tanh(c_t)

with weight_peephole_l0 (3, H) holding the rows (p_i, p_f, p_o).

LAYERS is this comparator's registry: cell -> a layer class taking (input_size, hidden_size, dtype=),
computing the cell with its default nonlinearity; tests/test_registry.py checks it covers every registered
cell.
"""
import torch
from torch import nn

TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class TorchPeephole(nn.Module):
    """One peephole LSTM layer; forward(x) -> (output (T, B, H), (h_n, c_n) each (1, B, H)), as nn.LSTM."""

    def __init__(self, input_size, hidden_size, dtype=torch.float32):
        super().__init__()
        H = hidden_size
        self.weight_ih_l0 = nn.Parameter(torch.empty(4 * H, input_size, dtype=dtype))
        self.weight_hh_l0 = nn.Parameter(torch.empty(4 * H, H, dtype=dtype))
        self.bias_ih_l0 = nn.Parameter(torch.empty(4 * H, dtype=dtype))
        self.bias_hh_l0 = nn.Parameter(torch.empty(4 * H, dtype=dtype))
        self.weight_peephole_l0 = nn.Parameter(torch.empty(3, H, dtype=dtype))
        bound = H ** -0.5
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x):
        # x: (T, B, I); zero initial state, as nn.LSTM without (h0, c0)
        T, B, _ = x.shape
        H = self.weight_hh_l0.shape[1]
        p_i, p_f, p_o = self.weight_peephole_l0.unbind(0)
        xp = torch.addmm(self.bias_ih_l0, x.reshape(T * B, -1), self.weight_ih_l0.t()).reshape(T, B, 4 * H)
        h = x.new_zeros(B, H)
        c = x.new_zeros(B, H)
        outputs = []
        # unbind, not xp[t]: each indexing op's backward would write a zero (T, B, 4H) tensor, O(T^2) in all
        for xp_t in xp.unbind(0):
            a = xp_t + torch.addmm(self.bias_hh_l0, h, self.weight_hh_l0.t())
            a_i, a_f, a_g, a_o = a.chunk(4, dim=1)
            i = torch.sigmoid(a_i + p_i * c)
            f = torch.sigmoid(a_f + p_f * c)
            c = f * c + i * torch.tanh(a_g)
            o = torch.sigmoid(a_o + p_o * c)
            h = o * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs), (h[None], c[None])


class TorchIndRNN(nn.Module):
    """One IndRNN layer (Li et al. 2018) with relu, an eager PyTorch loop of its equations written from them
    as TorchPeephole is: h_t = relu(W_ih x_t + b_ih + w_hh * h_{t-1} + b_hh), weight_hh_l0 a vector (H,).
    forward(x) -> (output (T, B, H), h_n (1, B, H)), as nn.RNN."""

    def __init__(self, input_size, hidden_size, dtype=torch.float32):
        super().__init__()
        H = hidden_size
        self.weight_ih_l0 = nn.Parameter(torch.empty(H, input_size, dtype=dtype))
        self.weight_hh_l0 = nn.Parameter(torch.empty(H, dtype=dtype))
        self.bias_ih_l0 = nn.Parameter(torch.empty(H, dtype=dtype))
        self.bias_hh_l0 = nn.Parameter(torch.empty(H, dtype=dtype))
        bound = H ** -0.5
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x):
        # x: (T, B, I); zero initial state
        T, B, _ = x.shape
        H = self.weight_hh_l0.shape[0]
        xp = torch.addmm(self.bias_ih_l0, x.reshape(T * B, -1), self.weight_ih_l0.t()).reshape(T, B, H)
        h = x.new_zeros(B, H)
        outputs = []
        for xp_t in xp.unbind(0):          # unbind, not xp[t]: see TorchPeephole
            h = torch.relu(xp_t + self.weight_hh_l0 * h + self.bias_hh_l0)
            outputs.append(h)
        return torch.stack(outputs), h[None]


# the cells compared -> their layer, (input_size, hidden_size, dtype=) -> nn.Module (rnn: nn.RNN's tanh)
LAYERS = {
    "rnn": nn.RNN,
    "gru": nn.GRU,
    "lstm": nn.LSTM,
    "peephole": TorchPeephole,
    "indrnn": TorchIndRNN,
}
CELLS = tuple(LAYERS)


def torch_layer(cell, input_size, hidden_size, dtype, state_dict):
    """The torch module for one layer of `cell` (its default nonlinearity), loaded with `state_dict`
    (numpy arrays)."""
    module = LAYERS[cell](input_size, hidden_size, dtype=TORCH_DTYPES[dtype])
    module.load_state_dict({k: torch.from_numpy(v) for k, v in state_dict.items()})
    return module
