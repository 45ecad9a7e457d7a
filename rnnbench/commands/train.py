"""`rnnbench train`: train one config into the run store (resumes from its checkpoint; skips a finished run).

    rnnbench train --task adding --seq-len 200 --cell lstm --hidden 128 --batch 50 --steps 5000 \\
        --optimizer adam --lr 1e-3 --clip 1.0 --seed 0 --backend cpu --out runs/

Every key of rnnbench.config.DEFAULTS is a flag (seq_len -> --seq-len); flags not given take the defaults.
The progress bar (stderr) shows step, loss and steps/s; the result is store_root/<run_id>/.
"""
HELP = "train one config (task, cell, optimizer, ...) and store its metrics and gradient-norm curves"


def _optional_float(text):
    """A number, or "none" for keys where None means "not set" (clip, forget_bias)."""
    return None if text.lower() == "none" else float(text)


def _flag_bool(text):
    """true/false (also yes/no, on/off, 1/0): bool("false") would be True."""
    import argparse

    value = {"true": True, "yes": True, "on": True, "1": True,
             "false": False, "no": False, "off": False, "0": False}.get(text.lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return value


# what a config key left at None means
_UNSET = {"nonlinearity": "per cell", "gradnorm_dtype": "the run's dtype"}


def add_config_arguments(parser, skip=()):
    """One flag per config key; flags not given are absent from args, so normalize() fills their defaults."""
    import argparse

    from rnnbench.config import DEFAULTS

    for key, default in DEFAULTS.items():
        if key in skip:
            continue
        if key in ("clip", "forget_bias"):
            kind = _optional_float
        else:
            kind = str if default is None else type(default)
        kind, metavar = (_flag_bool, "BOOL") if kind is bool else (kind, kind.__name__.upper().lstrip("_"))
        parser.add_argument("--" + key.replace("_", "-"), dest=key, type=kind, default=argparse.SUPPRESS,
                            metavar=metavar, help=f"default: {_UNSET.get(key, default)}")


def config_from_args(args, **overrides):
    """The normalized config from the flags given (InputError naming a bad one)."""
    from rnnbench.config import DEFAULTS, normalize

    raw = {k: getattr(args, k) for k in DEFAULTS if hasattr(args, k)}
    raw.update(overrides)
    return normalize(raw)


def add_arguments(parser):
    add_config_arguments(parser)
    parser.add_argument("--out", default="runs", help="run store directory (default: runs)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def progress_bar(total, desc=None):
    """(callback(step, total, loss, steps_per_s), close()) drawing a tqdm bar on stderr."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="step", dynamic_ncols=True, mininterval=0.5)

    def update(step, _total, loss, steps_per_s):
        bar.set_postfix_str(f"loss={loss:.4g} {steps_per_s:.1f} steps/s", refresh=False)
        bar.update(step - bar.n)

    return update, bar.close


def run(args):
    import sys

    from rnnbench import store
    from rnnbench.backend import get_backend
    from rnnbench.paths import check_dir

    store_root = check_dir(args.out, "--out")
    config = config_from_args(args)
    get_backend(config["backend"])              # an unavailable backend is bad input, not a failed run
    update, close = (None, lambda: None) if args.no_progress else progress_bar(config["steps"], "train")
    try:
        rid = store.execute(config, store_root, progress=update)
    finally:
        close()
    run_dir = store_root / rid
    status = store.read_status(run_dir)
    if status is None:       # another process took the run over (this one was paused past the stale timeout)
        print(f"run {rid}: taken over by another process; its results will be in {run_dir}", file=sys.stderr)
        return 1
    wall = "" if status.get("wall_time") is None else f", {status['wall_time']:.1f} s"
    line = f"run {rid}: {status['status']} at step {status['step']}{wall} -> {run_dir}"
    if status["status"] == "failed":
        print(f"{line}\n{status['error']}", file=sys.stderr)
        return 1
    metrics = store.load_metrics(store_root, [rid])
    if len(metrics):
        last = metrics.iloc[-1]
        line += (f"\n  test_loss {last['test_loss']:.4g} (baseline {last['baseline_loss']:.4g}, "
                 f"rel {last['rel_loss']:.3g}), accuracy {last['accuracy']:.3g}")
    print(line)
    return 0
