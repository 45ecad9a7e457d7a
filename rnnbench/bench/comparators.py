"""The frameworks `rnnbench bench` compares with (--against): PyTorch and JAX, both optional installs.

For each: whether it is installed, the cells it has a comparator for, the device it runs a backend's
comparison on (a cuda row is compared on the GPU where the framework sees one, else on the CPU) and its
layer workload (workloads.TorchWorkload, workloads.JaxWorkload). PyTorch is the comparison every speed
claim is made against (DESIGN.md), so asking for it where it is missing is an error; JAX is the second
opinion, skipped with a one-line note where it is missing.
"""
import importlib

from rnnbench.errors import InputError

COMPARATORS = ("torch", "jax")
LABELS = {"torch": "PyTorch", "jax": "JAX"}
OPTIONAL = ("jax",)
_INSTALL = {"torch": "pip install 'rnnbench[torch]'", "jax": "pip install 'rnnbench[jax]'"}
_CELL_MODULES = {"torch": "rnnbench.bench.torch_cells", "jax": "rnnbench.bench.jax_cells"}


def missing(name):
    """None where comparator `name` can run here, else one sentence saying why not."""
    try:
        importlib.import_module(name)
    except ImportError:
        return f"{LABELS[name]} is not installed ({_INSTALL[name]})"
    return None


def cells(name):
    """The cells comparator `name` has a layer for."""
    return importlib.import_module(_CELL_MODULES[name]).CELLS


def device(name, backend):
    """Where comparator `name` runs the comparison of rnnbench `backend`: "cpu", or its GPU device name."""
    if backend != "cuda":
        return "cpu"
    if name == "torch":
        import torch
        return "cuda" if torch.cuda.is_available() else "cpu"
    import jax
    try:
        jax.devices("gpu")
    except RuntimeError:        # no GPU backend in this jaxlib, or no device
        return "cpu"
    return "gpu"


def label(name, device_name):
    """How a row names what it was compared with: "torch", "torch-cuda", "jax-gpu"."""
    return name if device_name == "cpu" else f"{name}-{device_name}"


def workload(name, cell, state_dict, x, d_output, device_name):
    """The layer workload of comparator `name` (forward, train_step, results), same parameters and data."""
    from rnnbench.bench.workloads import JaxWorkload, TorchWorkload
    return {"torch": TorchWorkload, "jax": JaxWorkload}[name](cell, state_dict, x, d_output, device_name)


def parse_against(against):
    """--against ("none", "torch,jax" or a sequence of names) -> the names asked for, checked."""
    if isinstance(against, str):
        names = tuple(s.strip() for s in against.split(",") if s.strip())
    else:
        names = tuple(against)
    if names == ("none",):
        return ()
    unknown = [n for n in names if n not in COMPARATORS]
    if unknown:
        raise InputError(f"unknown comparator {unknown[0]!r}; expected none, or a comma list of "
                         f"{', '.join(COMPARATORS)}")
    if not names or len(set(names)) != len(names):
        raise InputError(f"bad comparator list {against!r}: expected none, or each of "
                         f"{', '.join(COMPARATORS)} at most once")
    return names


def usable(names, cell_names, say):
    """The comparators of `names` that can run here, in order: an optional one that is missing is skipped
    with a note through say(); a required one that is missing, or one lacking a layer for a cell, is an
    InputError."""
    ready = []
    for name in names:
        why = missing(name)
        if why is None:
            lacking = [c for c in cell_names if c not in cells(name)]
            if lacking:
                raise InputError(f"{LABELS[name]} has no comparator for cell {lacking[0]!r}; leave it out of "
                                 f"--cells or --against")
            ready.append(name)
        elif name in OPTIONAL:
            say(f"note: {why}: no {LABELS[name]} comparison")
        else:
            raise InputError(f"--against {name}: {why}; or leave it out of --against (none: rnnbench alone)")
    return tuple(ready)
