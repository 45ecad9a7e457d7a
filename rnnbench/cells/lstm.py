"""LSTM cell, PyTorch `nn.LSTM`, gate order (i, f, g, o):

    i, f, o = s(xp_* + hp_*);  g = tanh(xp_g + hp_g);  c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)

with xp = W_ih x_t + b_ih and hp = W_hh h_{t-1} + b_hh, each (B, 4H). The readable spec.
"""
import numpy as np

from rnnbench.cells.gru import sigmoid
from rnnbench.cells.spec import CellSpec

SPEC = CellSpec(name="lstm", gates=4, has_cell_state=True, forget_gate=1, colours={"tanh": "tab:blue"})


def step(xp, hp, h, c, p, act):
    """xp, hp: (B, 4H); h, c: (B, H). Returns (h_t, c_t, saved)."""
    H = h.shape[1]
    a = xp + hp
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    g = np.tanh(a[:, 2 * H:3 * H])
    o = sigmoid(a[:, 3 * H:])
    c_new = f * c + i * g
    tc = np.tanh(c_new)
    return o * tc, c_new, (i, f, g, o, c, tc)


def step_back(saved, dh, dc, p, act):
    """dh, dc: (B, H) total derivatives from later steps. dc_total is dL/dc_t through all paths."""
    i, f, g, o, c_prev, tc = saved
    dc_total = dc + dh * o * (1 - tc * tc)
    da = np.concatenate([
        dc_total * g * i * (1 - i),
        dc_total * c_prev * f * (1 - f),
        dc_total * i * (1 - g * g),
        dh * tc * o * (1 - o),
    ], axis=1)
    return da, da, None, dc_total, dc_total * f, {}
