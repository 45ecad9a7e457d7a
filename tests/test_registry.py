"""Completeness of the registries: every registered cell (rnnbench.cells) has every piece a cell needs, and no
other registry names a cell that is not registered.

The pieces: its NumPy reference (the cell module's step and step_back, declared by the reference backend),
its Numba CPU kernels and its CUDA kernels (each backend's declared CELLS), its oracle in tests/oracles.py
(which puts it through the whole oracle suite), its PyTorch and JAX comparators (rnnbench bench) and its
colour in the report, for every nonlinearity it takes.
"""
import importlib.util

import pytest
from oracles import ORACLES

from rnnbench.backend import BACKENDS, implemented_cells
from rnnbench.cells import CELL_MODULES, CELLS
from rnnbench.kernels import cpu

def _cuda_cells():
    if importlib.util.find_spec("numba.cuda") is None:
        pytest.skip("numba-cuda is not installed: the cuda backend's cells cannot be read")
    return set(implemented_cells("cuda"))


def _comparator_cells(framework):
    pytest.importorskip(framework)
    return set(importlib.import_module(f"rnnbench.bench.{framework}_cells").CELLS)


def _missing(cell, cuda_cells, torch_cells, jax_cells):
    from rnnbench.report.figures import CELL_COLORS
    spec, module = CELLS[cell], CELL_MODULES[cell]
    checks = {
        "a reference step (step and step_back in its cell module)":
            callable(getattr(module, "step", None)) and callable(getattr(module, "step_back", None))
            and cell in implemented_cells("reference"),
        "a cpu kernel (rnnbench.kernels.cpu.KERNELS)": cell in cpu.CELLS and cell in cpu.KERNELS,
        "a cuda kernel (the cuda backend's CELLS)": cell in cuda_cells,
        "an oracle (tests/oracles.py ORACLES)": cell in ORACLES,
        "a torch comparator (rnnbench.bench.torch_cells.LAYERS)": cell in torch_cells,
        "a jax comparator (rnnbench.bench.jax_cells.STEPS)": cell in jax_cells,
        "a report colour for each of its nonlinearities (CellSpec.colours)":
            set(spec.colours) == set(spec.nonlinearities) and cell in CELL_COLORS,
    }
    return [piece for piece, ok in checks.items() if not ok]


@pytest.mark.parametrize("cell", list(CELLS))
def test_every_registered_cell_has_every_piece(cell):
    missing = _missing(cell, _cuda_cells(), _comparator_cells("torch"), _comparator_cells("jax"))
    assert not missing, f"the registered cell {cell!r} lacks " + "; ".join(missing)


def test_no_registry_names_an_unregistered_cell():
    registered = set(CELLS)
    named = {"the cpu backend": set(cpu.CELLS), "tests/oracles.py": set(ORACLES),
             "the cuda backend": _cuda_cells(),
             "the torch comparator": _comparator_cells("torch"),
             "the jax comparator": _comparator_cells("jax")}
    for name in BACKENDS:
        if name != "cuda":
            named[f"the {name} backend"] = set(implemented_cells(name))
    stray = {where: sorted(cells - registered) for where, cells in named.items() if cells - registered}
    assert not stray, f"cells named but not registered in rnnbench.cells: {stray}"
