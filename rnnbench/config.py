"""A training run's config: every key, its default and its check. normalize() makes the run's full config.

    cfg = normalize({"task": "adding", "seq_len": 200, "cell": "lstm"})   # InputError names a bad key

The normalized config is canonical (same run -> same dict), so the run store can hash it: options that do
not apply to the run (momentum without sgd, forget_bias without an lstm cell, task options of other tasks,
stop_when_solved for forecasting, which has no solve criterion, solve_patience without stop_when_solved)
are None, and giving one explicitly is an error rather than silently ignored.
"""
import math

from rnnbench import backend, cells, checks, init, optim, tasks
from rnnbench.errors import InputError
from rnnbench.tasks.adding import Adding
from rnnbench.tasks.series import SERIES as _SERIES

# every list of names derives from its registry
TASKS = tuple(tasks.TASKS)
CELLS = tuple(cells.CELLS)
NONLINEARITIES = cells.NONLINEARITIES
OPTIMIZERS = tuple(optim.OPTIMIZERS)
CLIP_MODES = optim.CLIP_MODES
INITS = init.INITS
BACKENDS = tuple(backend.BACKENDS)
DTYPES = checks.DTYPES
ADDING_VARIANTS = Adding.VARIANTS
SERIES = tuple(_SERIES)

DEFAULTS = {
    "task": "adding",
    "seq_len": 100,
    "cell": "lstm",
    "nonlinearity": None,           # None: the cell's default (CellSpec.nonlinearities[0]: tanh, or relu)
    "hidden": 128,
    "layers": 1,
    "batch": 50,
    "steps": 5000,
    "optimizer": "adam",
    "lr": 1e-3,
    "momentum": 0.9,           # sgd only
    "clip": 1.0,
    "clip_mode": "norm",
    "init": "uniform",
    # cells with a forget gate (lstm, peephole) only: b_ih_f = forget_bias, b_hh_f = 0
    "forget_bias": 1.0,
    "seed": 0,
    "backend": "cpu",
    "dtype": "float32",
    "eval_every": 100,
    "gradnorm_every": 1000,
    # the gradient-norm probe's dtype (None: the run's). float64 keeps ||dL/dh_t|| measurable where float32
    # underflows (a vanilla RNN's passes 1e-38 within a few hundred steps)
    "gradnorm_dtype": None,
    "test_size": 1000,
    "checkpoint_every": 1000,
    "divergence_factor": 1e6,       # a loss above this many times the task's baseline: the run diverged
    "stop_when_solved": False,      # stop once the task's solve criterion holds at solve_patience evaluations
    "solve_patience": 3,            # stop_when_solved only
    "adding_variant": "arjovsky",   # task adding only
    "series": "mackey_glass",       # task forecasting only
    "horizon": 10,                  # task forecasting only: predict the next `horizon` values
}

# which keys apply only under a condition; otherwise they are None in the normalized config
_CONDITIONAL = {
    "momentum": lambda c: c["optimizer"] == "sgd",
    "forget_bias": lambda c: cells.CELLS[c["cell"]].forget_gate is not None,
    "stop_when_solved": lambda c: _solvable(c["task"]),
    # after stop_when_solved: it reads its value
    "solve_patience": lambda c: c["stop_when_solved"] is True,
    "adding_variant": lambda c: c["task"] == "adding",
    "series": lambda c: c["task"] == "forecasting",
    "horizon": lambda c: c["task"] == "forecasting",
}

# keys added after runs were published: a run id hashes them only when set (not None), so every run made
# before a key existed keeps its id
LATE_KEYS = ("gradnorm_dtype",)

_WHY_NOT = {"stop_when_solved": "task {task} has no solve criterion",
            "solve_patience": "stop_when_solved is off"}


def _solvable(task):
    return tasks.solve_criterion(task) is not None


def _bool(key, value):
    if not isinstance(value, bool):
        raise InputError(f"config key {key!r} must be true or false, got {value!r}")
    return value


def _choice(key, value, choices):
    if value not in choices:
        raise InputError(f"config key {key!r}: unknown value {value!r}; expected one of {', '.join(choices)}")
    return value


def _int(key, value, low):
    if isinstance(value, bool) or not isinstance(value, int) and not (
            isinstance(value, float) and value.is_integer()):
        raise InputError(f"config key {key!r} must be an integer, got {value!r}")
    if value < low:
        raise InputError(f"config key {key!r} must be >= {low}, got {value!r}")
    return int(value)


def _float(key, value, low=None, positive=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"config key {key!r} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise InputError(f"config key {key!r} must be finite, got {value!r}")
    if positive and value <= 0:
        raise InputError(f"config key {key!r} must be > 0, got {value!r}")
    if low is not None and value < low:
        raise InputError(f"config key {key!r} must be >= {low}, got {value!r}")
    return value


_CHECKS = {
    "task": lambda k, v: _choice(k, v, TASKS),
    "seq_len": lambda k, v: _int(k, v, 1),
    "cell": lambda k, v: _choice(k, v, CELLS),
    "nonlinearity": lambda k, v: None if v is None else _choice(k, v, NONLINEARITIES),
    "hidden": lambda k, v: _int(k, v, 1),
    "layers": lambda k, v: _int(k, v, 1),
    "batch": lambda k, v: _int(k, v, 1),
    "steps": lambda k, v: _int(k, v, 0),
    "optimizer": lambda k, v: _choice(k, v, OPTIMIZERS),
    "lr": lambda k, v: _float(k, v, positive=True),
    "momentum": lambda k, v: _float(k, v, low=0.0),
    "clip": lambda k, v: None if v is None else _float(k, v, low=0.0),
    "clip_mode": lambda k, v: _choice(k, v, CLIP_MODES),
    "init": lambda k, v: _choice(k, v, INITS),
    "forget_bias": lambda k, v: _float(k, v),
    "seed": lambda k, v: _int(k, v, 0),
    "backend": lambda k, v: _choice(k, v, BACKENDS),
    "dtype": lambda k, v: _choice(k, v, DTYPES),
    "eval_every": lambda k, v: _int(k, v, 1),
    "gradnorm_every": lambda k, v: _int(k, v, 1),
    "gradnorm_dtype": lambda k, v: None if v is None else _choice(k, v, DTYPES),
    "test_size": lambda k, v: _int(k, v, 1),
    "checkpoint_every": lambda k, v: _int(k, v, 0),
    "divergence_factor": lambda k, v: _float(k, v, low=1.0),
    "stop_when_solved": _bool,
    "solve_patience": lambda k, v: _int(k, v, 1),
    "adding_variant": lambda k, v: _choice(k, v, ADDING_VARIANTS),
    "series": lambda k, v: _choice(k, v, SERIES),
    "horizon": lambda k, v: _int(k, v, 1),
}
assert set(_CHECKS) == set(DEFAULTS)

def normalize(raw):
    """Fill defaults, check every key, canonicalize; InputError naming the first bad key."""
    if not isinstance(raw, dict):
        raise InputError(f"a config must be a mapping of keys to values, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise InputError(f"unknown config key {unknown[0]!r}; known keys: {', '.join(DEFAULTS)}")
    cfg = {}
    for key, default in DEFAULTS.items():
        value = raw.get(key, default)
        cfg[key] = value if value is None and key in _CONDITIONAL else _CHECKS[key](key, value)
    spec = cells.CELLS[cfg["cell"]]
    cfg["nonlinearity"] = cells.check_nonlinearity(spec, cfg["nonlinearity"], "config key 'nonlinearity':")
    for key, applies in _CONDITIONAL.items():
        if not applies(cfg):
            if raw.get(key) is not None and raw[key] != DEFAULTS[key]:
                why = _WHY_NOT.get(key, "task {task}, cell {cell}, optimizer {optimizer}").format(**cfg)
                raise InputError(f"config key {key!r} does not apply to this run ({why})")
            cfg[key] = None
        elif cfg[key] is None and key != "forget_bias":   # forget_bias None keeps PyTorch's default bias
            raise InputError(f"config key {key!r} must be set for this run")
    if cfg["gradnorm_dtype"] == cfg["dtype"]:
        cfg["gradnorm_dtype"] = None
    if cfg["clip_mode"] == "none" or not cfg["clip"]:
        cfg["clip_mode"], cfg["clip"] = "none", None
    why = init.why_not(spec, cfg["nonlinearity"], cfg["init"])
    if why is not None:
        raise InputError(f"config key 'init': {why}")
    min_seq_len = tasks.TASKS[cfg["task"]].min_seq_len
    if cfg["seq_len"] < min_seq_len:
        raise InputError(f"config key 'seq_len' must be >= {min_seq_len} for task {cfg['task']}, "
                         f"got {cfg['seq_len']}")
    if cfg["task"] == "adding" and cfg["adding_variant"] == "hochreiter" and cfg["seq_len"] < 22:
        raise InputError("config key 'seq_len' must be >= 22 for the hochreiter adding variant")
    if cfg["task"] == "forecasting":
        from rnnbench.tasks.forecasting import check_fits
        check_fits(cfg["series"], cfg["seq_len"], cfg["horizon"])
    return cfg
