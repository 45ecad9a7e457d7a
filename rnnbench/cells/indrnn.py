"""IndRNN cell (Li, Li, Cook, Zhu & Gao 2018, "Independently Recurrent Neural Network (IndRNN): Building a
Longer and Deeper RNN", CVPR): each unit recurs on its own state only, through one weight per unit:

    h_t = act(W_ih x_t + b_ih + w_hh * h_{t-1} + b_hh),    act = relu (the default) or tanh

with weight_ih (H, I), weight_hh (H,) (a vector: elementwise product, no recurrent matrix), bias_ih and
bias_hh (H,). Given the recurrent projection hp = w_hh * h_{t-1} + b_hh the step is the vanilla RNN's, so the
readable spec reuses rnnbench.cells.rnn's step and step_back; the reference backend forms hp elementwise
(CellSpec.recurrent_weight = "vector").

Initialization (Section 3 of the paper): dL/dh_t reaches h_{t'} through unit n scaled by w_n^(t - t') times
the activation's derivatives, 0 or 1 for relu. Keeping that factor within [0, gamma] over T steps needs
|w_n| <= gamma^(1/T); the paper's experiments take gamma = 2, so the recurrent weights are drawn
U(0, 2^(1/T)) with T the sequence length of the run (rnnbench.train passes its config's seq_len).
Without a known T (a bare RNN("indrnn", ...)) the draw is U(0, 1), the limit of the bound as T grows.
The other parameters keep PyTorch's U(-1/sqrt(H), 1/sqrt(H)). The paper also clips w_hh to the bound
during training; rnnbench does not.
"""
import numpy as np

from rnnbench.cells.rnn import step, step_back  # noqa: F401  (the elementwise step, given hp)
from rnnbench.cells.spec import CellSpec
from rnnbench.init import uniform

GAMMA = 2.0     # the largest gradient magnification over a sequence the init allows (Li et al. 2018)


def recurrent_bound(seq_len):
    """The init's bound on |w_hh|: GAMMA^(1/T) for T = seq_len steps, 1 where T is unknown (None)."""
    return 1.0 if seq_len is None else GAMMA ** (1.0 / seq_len)


def init_recurrent(rng, shape, dtype, seq_len):
    """weight_hh ~ U(0, GAMMA^(1/T)) of `dtype`, drawn as rnnbench.init.uniform draws (float64 blocks)."""
    half = recurrent_bound(seq_len) / 2
    return (uniform(rng, half, shape, np.float64) + half).astype(dtype)


SPEC = CellSpec(name="indrnn", gates=1, has_cell_state=False, nonlinearities=("relu", "tanh"),
                recurrent_weight="vector", init_recurrent=init_recurrent,
                colours={"relu": "tab:brown", "tanh": "tab:olive"})
