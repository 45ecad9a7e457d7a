"""GRU cell, PyTorch `nn.GRU` / cuDNN ("reset after"), gate order (r, z, n):

    r = s(xp_r + hp_r);  z = s(xp_z + hp_z);  n = tanh(xp_n + r * hp_n);  h_t = (1 - z) * n + z * h_{t-1}

with xp = W_ih x_t + b_ih and hp = W_hh h_{t-1} + b_hh, each (B, 3H). The readable spec.
"""
import numpy as np

from rnnbench.cells.spec import CellSpec

SPEC = CellSpec(name="gru", gates=3, has_cell_state=False, colours={"tanh": "tab:green"})


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def step(xp, hp, h, c, p, act):
    """xp, hp: (B, 3H); h: (B, H). Returns (h_t, None, saved)."""
    H = h.shape[1]
    r = sigmoid(xp[:, :H] + hp[:, :H])
    z = sigmoid(xp[:, H:2 * H] + hp[:, H:2 * H])
    hp_n = hp[:, 2 * H:]
    n = np.tanh(xp[:, 2 * H:] + r * hp_n)
    h_new = (1 - z) * n + z * h
    return h_new, None, (r, z, n, hp_n, h)


def step_back(saved, dh, dc, p, act):
    """dh: (B, H) total dL/dh_t. The n gate's recurrent pre-activation is scaled by r, so dhp != dxp."""
    r, z, n, hp_n, h_prev = saved
    dn_pre = dh * (1 - z) * (1 - n * n)
    dz_pre = dh * (h_prev - n) * z * (1 - z)
    dr_pre = dn_pre * hp_n * r * (1 - r)
    dxp = np.concatenate([dr_pre, dz_pre, dn_pre], axis=1)
    dhp = np.concatenate([dr_pre, dz_pre, dn_pre * r], axis=1)
    return dxp, dhp, dh * z, None, None, {}
