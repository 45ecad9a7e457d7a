"""Shared pieces of the Numba CPU kernels: the sigmoid, the norm, and the whole-sequence GEMMs.

The sigmoid takes a typed `one` so float32 math never promotes to float64 (a bare 1.0 literal would).
"""
import numpy as np
from numba import njit


@njit(inline="always", fastmath=True)
def sigmoid(x, one):
    return one / (one + np.exp(-x))


@njit(inline="always")
def sq_sum(a):
    # a: (B, H); fixed summation order, accumulated in float64 so float32 norms stay accurate
    s = 0.0
    for b in range(a.shape[0]):
        for j in range(a.shape[1]):
            s += np.float64(a[b, j]) * np.float64(a[b, j])
    return s


def input_projection(p, x):
    """x: (T, B, I) -> W_ih x_t + b_ih, (T, B, G*H), one GEMM over the whole sequence."""
    T, B, I = x.shape
    xp = x.reshape(T * B, I) @ p["weight_ih"].T
    xp += p["bias_ih"]
    return xp.reshape(T, B, -1)


def weight_grads(p, x, h0, out, dxp, dhp):
    """Whole-sequence GEMMs for the PyTorch parameter grads and dx.

    x: (T, B, I); h0: (B, H); out: (T, B, H); dxp, dhp: (T, B, G*H) (the same array when the cell's
    recurrent and input pre-activations get the same gradient). The state entering step t is h0 or
    out[t-1]: where they differ (padded rows) dhp is zero, so no (T, B, H) copy of the states is needed.
    """
    T, B, I = x.shape
    H = h0.shape[1]
    fx = dxp.reshape(T * B, -1)
    fh = dhp[1:].reshape((T - 1) * B, -1)
    w_hh = dhp[0].T @ h0
    if T > 1:
        w_hh += fh.T @ out[:-1].reshape((T - 1) * B, H)
    b_ih = fx.sum(0)
    grads = {
        "weight_ih": fx.T @ x.reshape(T * B, I),
        "weight_hh": w_hh,
        "bias_ih": b_ih,
        "bias_hh": b_ih.copy() if dhp is dxp else dhp.reshape(T * B, -1).sum(0),
    }
    return grads, (fx @ p["weight_ih"]).reshape(T, B, I)
