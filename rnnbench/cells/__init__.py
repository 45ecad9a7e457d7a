"""The cell registry: one module per cell, each a CellSpec (SPEC) plus its NumPy reference step (the spec).

A new cell is its module here (SPEC, step, step_back) and one line in NAMES; every list of cells elsewhere
(config, CLI defaults, bench, report, tests) derives from CELLS. Its kernels register in their backends
(rnnbench.backend), its comparators in rnnbench.bench.torch_cells and jax_cells, its oracle in
tests/oracles.py; tests/test_registry.py fails for a registered cell that lacks any of them.
"""
import importlib

from rnnbench.errors import InputError

# the registered cells, in the order lists, tables and figures show them: one name per cell
NAMES = ("rnn", "gru", "lstm", "peephole", "indrnn")

CELL_MODULES = {name: importlib.import_module(f"rnnbench.cells.{name}") for name in NAMES}
CELLS = {name: m.SPEC for name, m in CELL_MODULES.items()}
assert all(spec.name == name for name, spec in CELLS.items()), "a cell module's SPEC.name is its module name"
NONLINEARITIES = tuple(dict.fromkeys(act for spec in CELLS.values() for act in spec.nonlinearities))


def get_cell(name):
    """The CellSpec for `name`, or InputError naming the known cells."""
    if not isinstance(name, str) or name not in CELLS:
        raise InputError(f"unknown cell {name!r}; expected one of {', '.join(CELLS)}")
    return CELLS[name]


def check_nonlinearity(spec, nonlinearity, what="nonlinearity"):
    """nonlinearity for `spec`: None -> the cell's default; InputError for one it does not take (the message
    starts with `what`)."""
    if nonlinearity is None:
        return spec.nonlinearities[0]
    if not isinstance(nonlinearity, str) or nonlinearity not in NONLINEARITIES:
        raise InputError(f"unknown {what} {nonlinearity!r}; expected {' or '.join(NONLINEARITIES)}")
    if nonlinearity not in spec.nonlinearities:
        takers = [name for name, s in CELLS.items() if nonlinearity in s.nonlinearities]
        raise InputError(f"{what} {nonlinearity!r} applies to the {' and '.join(takers)} cell"
                         f"{'s' if len(takers) > 1 else ''} only, not {spec.name!r}")
    return nonlinearity


def arm_colours():
    """The report's colour per arm label: the cell's name for its default nonlinearity, else
    `<name>-<act>`."""
    return {name if act == spec.nonlinearities[0] else f"{name}-{act}": colour
            for name, spec in CELLS.items() for act, colour in spec.colours.items()}
