"""GRU step kernels, PyTorch/cuDNN "reset after", gates (r, z, n) (rnnbench/cells/gru.py):

    r = s(xp_r + hp_r);  z = s(xp_z + hp_z);  n = tanh(xp_n + r * hp_n);  h_t = (1 - z) * n + z * h_{t-1}

Argument shapes as in rnnbench/kernels/cuda/rnn.py; saved[t] holds (r, z, n, hp_n) per hidden unit.
"""
import math

from numba import cuda

from rnnbench.kernels.cuda.steps import MAX_GATES, emit, position, recurrent_gates, sigmoid, total_dh

SAVED = 4
SEPARATE_DHP = True    # the n gate's recurrent term is scaled by r: dhp_n = r * dxp_n


@cuda.jit(cache=True)
def forward_step(t, xp, w_hh, b_hh, wp, lengths, relu, hs, cs, saved, out):
    b, j = position()
    acc = cuda.local.array(MAX_GATES, dtype=xp.dtype)
    recurrent_gates(acc, hs, t, w_hh, b_hh, b, j)
    H = hs.shape[2]
    if b < hs.shape[1] and j < H:
        one = xp.dtype.type(1)
        r = sigmoid(xp[t, b, j] + acc[0], one)
        z = sigmoid(xp[t, b, H + j] + acc[1], one)
        n = math.tanh(xp[t, b, 2 * H + j] + r * acc[2])
        saved[t, b, j] = r
        saved[t, b, H + j] = z
        saved[t, b, 2 * H + j] = n
        saved[t, b, 3 * H + j] = acc[2]
        emit(hs, out, t, b, j, (one - z) * n + z * hs[t, b, j], t < lengths[b])


@cuda.jit(cache=True)
def backward_step(t, w_hh, wp, lengths, relu, hs, cs, saved, d_out, dh_state, dc_state, dh_seq, dc_seq,
                  dxp, dhp, dwp):
    b, k = position()
    dh = total_dh(dh_state, dhp, w_hh, d_out, dh_seq, lengths, t, b, k)
    H = hs.shape[2]
    if b < hs.shape[1] and k < H:
        zero = w_hh.dtype.type(0)
        one = w_hh.dtype.type(1)
        live = t < lengths[b]
        dhl = dh if live else zero              # padded: no gradient enters, dh passes through
        r = saved[t, b, k]
        z = saved[t, b, H + k]
        n = saved[t, b, 2 * H + k]
        dn = dhl * (one - z) * (one - n * n)
        dz = dhl * (hs[t, b, k] - n) * z * (one - z)
        dr = dn * saved[t, b, 3 * H + k] * r * (one - r)
        dxp[t, b, k] = dr
        dxp[t, b, H + k] = dz
        dxp[t, b, 2 * H + k] = dn
        dhp[t, b, k] = dr
        dhp[t, b, H + k] = dz
        dhp[t, b, 2 * H + k] = dn * r
        dh_state[b, k] = dhl * z if live else dh
