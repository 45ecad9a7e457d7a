"""CellSpec: everything that distinguishes one recurrent cell from another, as data every layer reads.

Code outside a cell's own files asks its CellSpec (gate count, cell state, peepholes, forget gate, recurrent
weight shape, nonlinearities, report colours, initialization) and never tests the cell's name.
"""
from dataclasses import dataclass, field
from typing import Callable, Optional


@dataclass(frozen=True)
class CellSpec:
    name: str
    gates: int                      # G: rows of weight_ih are G * H, in PyTorch's gate order
    has_cell_state: bool            # carries c_t beside h_t (lstm, peephole): c0, c_n, dc0, cell_grad_norms
    # matplotlib colour of the cell's curves in the report, per nonlinearity (its arm label is the cell's name
    # for the first nonlinearity below, `<name>-<act>` for the others)
    colours: dict
    # accepted values of `nonlinearity`, the first the default; cells whose gates fix their activations
    # (gru, lstm) take "tanh" only, the candidate's
    nonlinearities: tuple = ("tanh",)
    peepholes: bool = False         # diagonal peephole weights `weight_peephole` (3, H) for (i, f, o)
    forget_gate: Optional[int] = None   # index of the forget gate in the gate order: forget_bias applies
    # "matrix": weight_hh (G*H, H), every unit sees every unit's h_{t-1}; "vector": weight_hh (G*H,), each
    # unit recurs on its own h_{t-1} only (elementwise: no recurrent matrix product)
    recurrent_weight: str = "matrix"
    # the cell's own draw of weight_hh, init_recurrent(rng, shape, dtype, seq_len) -> array, in place of
    # PyTorch's U(-1/sqrt(H), 1/sqrt(H)); seq_len None where no sequence length is known (rnnbench.init)
    init_recurrent: Optional[Callable] = field(default=None, compare=False)

    def param_shapes(self, input_size: int, hidden_size: int) -> dict:
        """Shapes of one layer's parameters, keyed by the name without the `_l{k}` suffix."""
        gh = self.gates * hidden_size
        shapes = {
            "weight_ih": (gh, input_size),
            "weight_hh": (gh, hidden_size) if self.recurrent_weight == "matrix" else (gh,),
            "bias_ih": (gh,),
            "bias_hh": (gh,),
        }
        if self.peepholes:
            shapes["weight_peephole"] = (3, hidden_size)
        return shapes

    @property
    def extra_params(self):
        """Parameter names beyond PyTorch's four (without the `_l{k}` suffix)."""
        return ("weight_peephole",) if self.peepholes else ()
