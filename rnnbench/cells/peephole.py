"""Peephole LSTM cell (Gers, Schraudolph & Schmidhuber 2002; Keras PeepholeLSTMCell), gate order (i, f, g, o):

    i = s(xp_i + hp_i + p_i * c_{t-1});  f = s(xp_f + hp_f + p_f * c_{t-1});  g = tanh(xp_g + hp_g)
    c_t = f * c_{t-1} + i * g;  o = s(xp_o + hp_o + p_o * c_t);  h_t = o * tanh(c_t)

The diagonal peephole weights are `weight_peephole_l{k}`, shape (3, H), rows (p_i, p_f, p_o). The readable
spec.
"""
import numpy as np

from rnnbench.cells.gru import sigmoid
from rnnbench.cells.spec import CellSpec

SPEC = CellSpec(name="peephole", gates=4, has_cell_state=True, peepholes=True, forget_gate=1,
                colours={"tanh": "tab:purple"})


def step(xp, hp, h, c, p, act):
    """xp, hp: (B, 4H); h, c: (B, H); p["weight_peephole"]: (3, H). Returns (h_t, c_t, saved)."""
    H = h.shape[1]
    w = p["weight_peephole"]
    a = xp + hp
    i = sigmoid(a[:, :H] + w[0] * c)
    f = sigmoid(a[:, H:2 * H] + w[1] * c)
    g = np.tanh(a[:, 2 * H:3 * H])
    c_new = f * c + i * g
    o = sigmoid(a[:, 3 * H:] + w[2] * c_new)
    tc = np.tanh(c_new)
    return o * tc, c_new, (i, f, g, o, c, c_new, tc)


def step_back(saved, dh, dc, p, act):
    """As lstm, plus the peephole paths: c_{t-1} feeds i and f, c_t feeds o."""
    i, f, g, o, c_prev, c_new, tc = saved
    w = p["weight_peephole"]
    do_pre = dh * tc * o * (1 - o)
    dc_total = dc + dh * o * (1 - tc * tc) + do_pre * w[2]
    di_pre = dc_total * g * i * (1 - i)
    df_pre = dc_total * c_prev * f * (1 - f)
    dg_pre = dc_total * i * (1 - g * g)
    da = np.concatenate([di_pre, df_pre, dg_pre, do_pre], axis=1)
    dc_prev = dc_total * f + di_pre * w[0] + df_pre * w[1]
    dw = np.stack([(di_pre * c_prev).sum(0), (df_pre * c_prev).sum(0), (do_pre * c_new).sum(0)])
    return da, da, None, dc_total, dc_prev, {"weight_peephole": dw}
