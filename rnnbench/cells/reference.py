"""The NumPy reference backend: the time loop around each cell's readable step, float32 or float64.

Input projections and weight gradients are whole-sequence matrix products; only the recurrent product
and the cell's elementwise step run per time step. Slow but obviously right: the kernels must match it.
"""
import numpy as np

from rnnbench.backend import LayerForward, LayerGrads, stack, to_host  # noqa: F401  (host arrays: nothing moves)
from rnnbench.cells import CELL_MODULES

CELLS = tuple(CELL_MODULES)     # every registered cell: its module's step and step_back are this backend
DEVICE_ARRAYS = False


def frobenius(a):
    """||a||_F as max|a| * ||a / max|a|||: a plain sum of squares (np.linalg.norm) underflows to 0 once the
    entries fall below ~1e-154 in float64, well inside the range a vanishing gradient travels."""
    m = np.max(np.abs(a))
    if m == 0 or not np.isfinite(m):
        return m
    return m * np.sqrt(np.sum((a / m) ** 2))


def recurrent(cell, w_hh, h):
    """W_hh h_{t-1} for h: (B, H): a matrix product, or elementwise for a vector recurrent weight."""
    return h * w_hh if cell.recurrent_weight == "vector" else h @ w_hh.T


def forward_layer(cell, act, p, x, h0, c0, lengths, keep=True, device_arrays=False):
    step = CELL_MODULES[cell.name].step
    T, B, _ = x.shape
    xp = x @ p["weight_ih"].T + p["bias_ih"]                      # (T, B, G*H)
    h, c = h0, c0
    output = np.zeros((T, B, h0.shape[1]), dtype=x.dtype)
    saved, h_prev = [], []
    for t in range(T):
        live = (t < lengths)[:, None]                             # (B, 1): still inside its sequence
        h_new, c_new, s = step(xp[t], recurrent(cell, p["weight_hh"], h) + p["bias_hh"], h, c, p, act)
        h_prev.append(h)
        saved.append(s)
        output[t] = np.where(live, h_new, 0)
        h = np.where(live, h_new, h)
        if c is not None:
            c = np.where(live, c_new, c)
    return LayerForward(output, h, c, (x, lengths, saved, np.stack(h_prev)))


def backward_layer(cell, act, p, fwd, d_out, d_hn, d_cn, device_arrays=False, grad_norms=True,
                   input_grad=True):
    step_back = CELL_MODULES[cell.name].step_back
    x, lengths, saved, h_prev = fwd.cache
    T, B, _ = x.shape
    H = d_hn.shape[1]
    dtype = x.dtype
    dxp = np.zeros((T, B, p["weight_ih"].shape[0]), dtype=dtype)
    dhp = np.zeros_like(dxp)
    extra = {k: np.zeros_like(p[k]) for k in cell.extra_params}
    h_norms = np.zeros(T, dtype=dtype)
    c_norms = np.zeros(T, dtype=dtype) if cell.has_cell_state else None
    dh = d_hn.copy()
    dc = d_cn.copy() if cell.has_cell_state else None
    for t in range(T - 1, -1, -1):
        live = (t < lengths)[:, None]
        dh = dh + np.where(live, d_out[t], 0)                     # padded outputs are constant zeros
        h_norms[t] = frobenius(dh)
        # padded rows enter the step with zero gradient (all its outputs are linear in dh, dc) and carry
        # dh, dc through unchanged below, as their state was carried unchanged forward
        dh_live = np.where(live, dh, 0)
        dc_live = np.where(live, dc, 0) if dc is not None else None
        dxp[t], dhp[t], dh_direct, dc_total, dc_prev, dextra = step_back(saved[t], dh_live, dc_live, p, act)
        for k, v in dextra.items():
            extra[k] += v
        dh_prev = dhp[t] * p["weight_hh"] if cell.recurrent_weight == "vector" else dhp[t] @ p["weight_hh"]
        if dh_direct is not None:
            dh_prev = dh_prev + dh_direct
        dh = np.where(live, dh_prev, dh)
        if dc is not None:
            c_norms[t] = frobenius(np.where(live, dc_total, dc))
            dc = np.where(live, dc_prev, dc)
    flat = dxp.reshape(T * B, -1)
    flat_h = dhp.reshape(T * B, -1)
    grads = {
        "weight_ih": flat.T @ x.reshape(T * B, -1),
        "weight_hh": ((flat_h * h_prev.reshape(T * B, H)).sum(0) if cell.recurrent_weight == "vector"
                      else flat_h.T @ h_prev.reshape(T * B, H)),
        "bias_ih": flat.sum(0),
        "bias_hh": flat_h.sum(0),
        **extra,
    }
    return LayerGrads(grads, dxp @ p["weight_ih"] if input_grad else None, dh, dc, h_norms, c_norms)
