"""LSTM and peephole-LSTM sequence kernels, gates (i, f, g, o) (rnnbench/cells/lstm.py, cells/peephole.py):

    i = s(a_i + p_i c_{t-1});  f = s(a_f + p_f c_{t-1});  g = tanh(a_g);  c_t = f c_{t-1} + i g
    o = s(a_o + p_o c_t);      h_t = o tanh(c_t)              with a = xp + W_hh h_{t-1} + b_hh

The plain LSTM is the same cell without peepholes (wp is then a (1, 1) placeholder and the p terms are
skipped), so both cells share these two kernels. Argument shapes as in rnnbench/kernels/cuda/rnn.py;
saved[t] holds (i, f, g, o) per hidden unit; tanh(c_t) is recomputed from cs[t+1] in backward.
"""
import math

from numba import cuda

from rnnbench.kernels.cuda.steps import (MAX_GATES, ROWS, carried_dh, emit, initial_dh, item,
                                         recurrent_forward, sigmoid, total_dh)

GATES = 4
SAVED = 4
SEPARATE_DHP = False


@cuda.jit(cache=True)
def forward_kernel(xp, wt, b_hh, wp, lengths, relu, groups, keep, hs, cs, saved, out):
    # xp: (T, B, G*H); wt: (H, G*H) = W_hh^T; b_hh: (G*H,); wp: (3, H); lengths: (B,); hs, cs: (T+1, B, H);
    # saved: (T, B, SAVED*H); out: (T, B, H)   (all arguments: rnnbench/kernels/cuda/rnn.py's docstring)
    T, B, H = out.shape
    one = xp.dtype.type(1)
    peep = wp.shape[0] == 3
    acc = cuda.local.array((ROWS, MAX_GATES), dtype=xp.dtype)
    for t in range(T):
        for p in range(cuda.threadIdx.x, groups * H, cuda.blockDim.x):
            row0, j = item(p, groups, H)
            if row0 < B:
                recurrent_forward(acc, hs, t, wt, b_hh, row0, j, GATES)
                for r in range(ROWS):
                    b = row0 + r
                    if b < B:
                        c = cs[t, b, j]
                        a_i = xp[t, b, j] + acc[r, 0]
                        a_f = xp[t, b, H + j] + acc[r, 1]
                        a_o = xp[t, b, 3 * H + j] + acc[r, 3]
                        if peep:
                            a_i += wp[0, j] * c
                            a_f += wp[1, j] * c
                        i = sigmoid(a_i, one)
                        f = sigmoid(a_f, one)
                        g = math.tanh(xp[t, b, 2 * H + j] + acc[r, 2])
                        c_new = f * c + i * g
                        if peep:
                            a_o += wp[2, j] * c_new
                        o = sigmoid(a_o, one)
                        if keep:
                            saved[t, b, j] = i
                            saved[t, b, H + j] = f
                            saved[t, b, 2 * H + j] = g
                            saved[t, b, 3 * H + j] = o
                        live = t < lengths[b]
                        cs[t + 1, b, j] = c_new if live else c
                        emit(hs, out, t, b, j, o * math.tanh(c_new), live)
        cuda.syncthreads()


@cuda.jit(cache=True)
def backward_kernel(w_hh, wp, lengths, relu, groups, hs, cs, saved, d_out, dh_state, dc_state, dh_seq, dc_seq,
                    dxp, dhp, dwp):
    # w_hh: (G*H, H); wp: (3, H); lengths: (B,); hs, cs: (T+1, B, H); saved: (T, B, SAVED*H); d_out, dh_seq,
    # dc_seq: (T, B, H); dh_state, dc_state: (B, H); dxp, dhp: (T, B, G*H); dwp: (T, B, 3*H)
    T, B, H = d_out.shape
    zero = w_hh.dtype.type(0)
    one = w_hh.dtype.type(1)
    peep = wp.shape[0] == 3
    acc = cuda.local.array(ROWS, dtype=w_hh.dtype)
    for t in range(T - 1, -1, -1):
        for p in range(cuda.threadIdx.x, groups * H, cuda.blockDim.x):
            row0, k = item(p, groups, H)
            if row0 < B:
                carried_dh(acc, dh_state, dhp, t + 1, w_hh, row0, k)
                for r in range(ROWS):
                    b = row0 + r
                    if b < B:
                        dh = total_dh(acc[r], d_out, dh_seq, lengths, t, b, k)
                        dc = dc_state[b, k]
                        if t >= lengths[b]:     # padded: no gradient enters, dh and dc pass through
                            for g in range(4):
                                dxp[t, b, g * H + k] = zero
                            if peep:
                                for g in range(3):
                                    dwp[t, b, g * H + k] = zero
                            dc_seq[t, b, k] = dc
                            dh_state[b, k] = dh
                            continue
                        i = saved[t, b, k]
                        f = saved[t, b, H + k]
                        g = saved[t, b, 2 * H + k]
                        o = saved[t, b, 3 * H + k]
                        c_prev = cs[t, b, k]
                        c_new = cs[t + 1, b, k]
                        tc = math.tanh(c_new)
                        do = dh * tc * o * (one - o)
                        dc_total = dc + dh * o * (one - tc * tc)
                        if peep:
                            dc_total += do * wp[2, k]
                        di = dc_total * g * i * (one - i)
                        df = dc_total * c_prev * f * (one - f)
                        dxp[t, b, k] = di
                        dxp[t, b, H + k] = df
                        dxp[t, b, 2 * H + k] = dc_total * i * (one - g * g)
                        dxp[t, b, 3 * H + k] = do
                        dc_prev = dc_total * f
                        if peep:
                            dc_prev += di * wp[0, k] + df * wp[1, k]
                            dwp[t, b, k] = di * c_prev
                            dwp[t, b, H + k] = df * c_prev
                            dwp[t, b, 2 * H + k] = do * c_new
                        dc_seq[t, b, k] = dc_total
                        dc_state[b, k] = dc_prev
                        dh_state[b, k] = zero
        cuda.syncthreads()
    initial_dh(dh_state, dhp, w_hh, groups)
