"""FLOP count of one recurrent layer over a whole sequence, the numerator of every GFLOP/s in `rnnbench
bench`.

Only the matrix products are counted (a multiply-add is 2 FLOP); the elementwise gate math is O(T*B*G*H),
a factor ~H smaller, and is left out, as cuDNN and haste count it. With G gates (rnn 1, gru 3, lstm and
peephole 4):

    input projection    2 * T * B * I * (G*H)     (x_t @ W_ih^T for all t)
    recurrent product   2 * T * B * H * (G*H)     (h_{t-1} @ W_hh^T, T times; a vector recurrent weight's
                                                   elementwise product: 2 * T * B * (G*H))
    forward             the sum of the two
    backward            about twice forward (dL/dinput and dL/dweight products for each forward product)
    forward+backward    3 * forward
    train-step          as forward+backward (the readout, loss and optimizer are O(parameters), left out)
"""
from rnnbench.cells import get_cell

PASSES = ("forward", "forward+backward", "train-step")


def layer_flop(cell, T, B, I, H, pass_):
    """FLOP of one layer of `cell` on input (T, B, I) with hidden size H, for pass_ in PASSES."""
    spec = get_cell(cell)
    gh = spec.gates * H
    forward = 2 * T * B * I * gh + 2 * T * B * (H if spec.recurrent_weight == "matrix" else 1) * gh
    return forward if pass_ == "forward" else 3 * forward
