"""The cell registry: one module per cell, each a CellSpec plus its NumPy reference step (the spec).

A new cell is one module here (SPEC, step, step_back) plus its kernels; nothing else needs to change.
"""
from rnnbench.cells import gru, lstm, peephole, rnn
from rnnbench.errors import InputError

CELL_MODULES = {m.SPEC.name: m for m in (rnn, gru, lstm, peephole)}
CELLS = {name: m.SPEC for name, m in CELL_MODULES.items()}
NONLINEARITIES = ("tanh", "relu")


def get_cell(name):
    """The CellSpec for `name`, or InputError naming the known cells."""
    if not isinstance(name, str) or name not in CELLS:
        raise InputError(f"unknown cell {name!r}; expected one of {', '.join(CELLS)}")
    return CELLS[name]
