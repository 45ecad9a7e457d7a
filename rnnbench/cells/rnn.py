"""Vanilla (Elman) RNN cell, PyTorch `nn.RNN`: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh).

This is the readable spec; every backend must match it. `xp` is the input projection W_ih x_t + b_ih
and `hp` the recurrent projection W_hh h_{t-1} + b_hh, both (B, G*H) with G = 1.
"""
import numpy as np

from rnnbench.cells.spec import CellSpec

SPEC = CellSpec(name="rnn", gates=1, has_cell_state=False, nonlinearities=("tanh", "relu"),
                colours={"tanh": "tab:red", "relu": "tab:orange"})


def step(xp, hp, h, c, p, act):
    """One step forward. xp, hp: (B, H); h: (B, H). Returns (h_t, c_t=None, saved)."""
    pre = xp + hp
    h_new = np.tanh(pre) if act == "tanh" else np.maximum(pre, 0)
    return h_new, None, h_new


def step_back(saved, dh, dc, p, act):
    """One step backward from dL/dh_t (total). Returns (dxp, dhp, dh_direct, dc_total, dc_prev, dextra)."""
    h_new = saved
    dpre = dh * (1 - h_new * h_new) if act == "tanh" else dh * (h_new > 0)
    return dpre, dpre, None, None, None, {}
