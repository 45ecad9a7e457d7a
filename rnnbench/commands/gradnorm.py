"""`rnnbench gradnorm`: the ||dL/dh_t|| curves of several cells on one task, at initialization (and after
--steps training steps), written as one CSV with a commented config header.

    rnnbench gradnorm --task adding --seq-len 1000 --cells rnn,gru,lstm,peephole --out gradnorms.csv

Prints, per cell and step, ||dL/dh_0|| / ||dL/dh_{T-1}|| of the top layer: how much of the loss's gradient
reaches the first step (Arjovsky, Shah & Bengio 2016's "gradient norms" figure), and the mean decay in
decades per step over the part of the curve that has not underflowed to 0 (a ratio of 0 is underflow).
"""
HELP = "per-timestep gradient norms ||dL/dh_t|| of several cells at initialization (or after training)"


def add_arguments(parser):
    from rnnbench.commands.train import add_config_arguments

    parser.add_argument("--cells", default=None,
                        help="comma-separated cells (default: every cell the --backend implements)")
    add_config_arguments(parser, skip=("cell", "steps", "gradnorm_every", "eval_every", "test_size",
                                       "checkpoint_every"))
    parser.add_argument("--steps", type=int, default=0, help="also train this many steps and measure again")
    parser.add_argument("--out", default="gradnorms.csv", help="output CSV (default: gradnorms.csv)")


def _write_csv(path, header, rows):
    """Write atomically (rnnbench.files): commented header lines, then the CSV table."""
    import csv

    from rnnbench.files import atomic_write_text

    def write(f):
        f.writelines(f"# {line}\n" for line in header)
        writer = csv.DictWriter(f, fieldnames=["cell", "step", "layer", "t", "h_norm", "c_norm"])
        writer.writeheader()
        writer.writerows(rows)
    atomic_write_text(path, write)


def run(args):
    import shlex
    import sys

    import numpy as np

    from rnnbench.backend import check_implements, get_backend, implemented_cells
    from rnnbench.commands.train import config_from_args
    from rnnbench.config import DEFAULTS, normalize
    from rnnbench.errors import InputError
    from rnnbench.paths import check_file
    from rnnbench.train import train

    check_file(args.out, "--out")          # before the computation, not after it
    if args.cells is None:      # every cell the backend implements
        cells = list(implemented_cells(normalize({"backend": getattr(args, "backend", DEFAULTS["backend"])})
                                       ["backend"]))
    else:
        cells = [c for c in args.cells.split(",") if c]
    if not cells:
        raise InputError("--cells names no cell")
    if args.steps < 0:
        raise InputError(f"--steps must be >= 0, got {args.steps}")
    # the probe is the first `batch` test sequences; a test set of that size keeps evaluation cheap
    every = max(args.steps, 1)
    batch = getattr(args, "batch", DEFAULTS["batch"])
    configs = [config_from_args(args, cell=cell, steps=args.steps, gradnorm_every=every, eval_every=every,
                                test_size=batch, checkpoint_every=0) for cell in cells]
    get_backend(configs[0]["backend"])
    for config in configs:
        check_implements(config["backend"], config["cell"])
    rows = []
    print(f"{'cell':>9} {'step':>6} {'|dL/dh_0|':>11} {'|dL/dh_T-1|':>11} {'ratio':>10} {'decades/step':>12}")
    for config in configs:
        result = train(config)
        if result.status != "done":
            print(f"{config['cell']:>9}: diverged at step {result.diverged_at}", file=sys.stderr)
        top = config["layers"] - 1
        for step in sorted({r["step"] for r in result.gradnorms}):
            curve = np.array([r["h_norm"] for r in result.gradnorms
                              if r["step"] == step and r["layer"] == top])
            alive = np.log10(curve[curve > 0])
            slope = (alive[-1] - alive[0]) / (len(alive) - 1) if len(alive) > 1 else np.nan
            print(f"{config['cell']:>9} {step:>6} {curve[0]:>11.4g} {curve[-1]:>11.4g} "
                  f"{curve[0] / curve[-1]:>10.3g} {slope:>12.4g}")
        rows += [{"cell": config["cell"], **r} for r in result.gradnorms]
    shared = {k: v for k, v in configs[0].items() if all(c[k] == v for c in configs)}
    _write_csv(args.out, ["rnnbench " + shlex.join(sys.argv[1:]), f"config: {shared}"], rows)
    print(f"wrote {len(rows)} rows to {args.out}")
    return 0
