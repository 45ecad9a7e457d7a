"""GRU sequence kernels, PyTorch/cuDNN "reset after", gates (r, z, n) (rnnbench/cells/gru.py):

    r = s(xp_r + hp_r);  z = s(xp_z + hp_z);  n = tanh(xp_n + r * hp_n);  h_t = (1 - z) * n + z * h_{t-1}

Argument shapes as in rnnbench/kernels/cuda/rnn.py; saved[t] holds (r, z, n, hp_n) per hidden unit.
"""
import math

from numba import cuda

from rnnbench.kernels.cuda.steps import (MAX_GATES, ROWS, carried_dh, emit, initial_dh, item,
                                         recurrent_forward, sigmoid, total_dh)

GATES = 3
SAVED = 4
SEPARATE_DHP = True    # the n gate's recurrent term is scaled by r: dhp_n = r * dxp_n


@cuda.jit(cache=True)
def forward_kernel(xp, wt, b_hh, wp, lengths, relu, groups, keep, hs, cs, saved, out):
    # xp: (T, B, G*H); wt: (H, G*H) = W_hh^T; b_hh: (G*H,); wp: (3, H); lengths: (B,); hs, cs: (T+1, B, H);
    # saved: (T, B, SAVED*H); out: (T, B, H)   (all arguments: rnnbench/kernels/cuda/rnn.py's docstring)
    T, B, H = out.shape
    one = xp.dtype.type(1)
    acc = cuda.local.array((ROWS, MAX_GATES), dtype=xp.dtype)
    for t in range(T):
        for p in range(cuda.threadIdx.x, groups * H, cuda.blockDim.x):
            row0, j = item(p, groups, H)
            if row0 < B:
                recurrent_forward(acc, hs, t, wt, b_hh, row0, j, GATES)
                for q in range(ROWS):
                    b = row0 + q
                    if b < B:
                        r = sigmoid(xp[t, b, j] + acc[q, 0], one)
                        z = sigmoid(xp[t, b, H + j] + acc[q, 1], one)
                        n = math.tanh(xp[t, b, 2 * H + j] + r * acc[q, 2])
                        if keep:
                            saved[t, b, j] = r
                            saved[t, b, H + j] = z
                            saved[t, b, 2 * H + j] = n
                            saved[t, b, 3 * H + j] = acc[q, 2]
                        emit(hs, out, t, b, j, (one - z) * n + z * hs[t, b, j], t < lengths[b])
        cuda.syncthreads()


@cuda.jit(cache=True)
def backward_kernel(w_hh, wp, lengths, relu, groups, hs, cs, saved, d_out, dh_state, dc_state, dh_seq, dc_seq,
                    dxp, dhp, dwp):
    # w_hh: (G*H, H); wp: (3, H); lengths: (B,); hs, cs: (T+1, B, H); saved: (T, B, SAVED*H); d_out, dh_seq,
    # dc_seq: (T, B, H); dh_state, dc_state: (B, H); dxp, dhp: (T, B, G*H); dwp: (T, B, 3*H)
    T, B, H = d_out.shape
    zero = w_hh.dtype.type(0)
    one = w_hh.dtype.type(1)
    acc = cuda.local.array(ROWS, dtype=w_hh.dtype)
    for t in range(T - 1, -1, -1):
        for p in range(cuda.threadIdx.x, groups * H, cuda.blockDim.x):
            row0, k = item(p, groups, H)
            if row0 < B:
                carried_dh(acc, dh_state, dhp, t + 1, w_hh, row0, k)
                for q in range(ROWS):
                    b = row0 + q
                    if b < B:
                        dh = total_dh(acc[q], d_out, dh_seq, lengths, t, b, k)
                        live = t < lengths[b]
                        dhl = dh if live else zero      # padded: no gradient enters, dh passes through
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
        cuda.syncthreads()
    initial_dh(dh_state, dhp, w_hh, groups)
