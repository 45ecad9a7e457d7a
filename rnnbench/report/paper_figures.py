"""Figures of "The papers, reproduced", drawn in the form of the papers' own: Arjovsky et al. 2016's learning
curves (test MSE on a linear axis against training steps in hundreds, per T, baseline dotted; copy: cross-
entropy against training examples in thousands) and gradient norms over t (log axis, at initialization and
after 100 iterations) and Li et al. 2018's IndRNN against LSTM curves per T; plus the figures the other
rows link to.

Each builder takes aggregate.Aggregates and returns a list of figures.Figure (empty when the store has no runs
in that setting). A run stopped when solved holds its last value to the end of its panel and is marked ×.
"""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rnnbench.report import papers
from rnnbench.report.aggregate import cell_label, learning_curves
from rnnbench.report.figures import CELL_COLORS, Figure

PAPER_T = {"adding": (100, 200, 400, 750), "copy": (100, 200, 300, 500)}


def _by_cell(a, runs, column):
    """Learning curves of `runs` with one arm per cell (mean over seeds, stopped seeds held)."""
    runs = runs.assign(arm=runs.apply(cell_label, axis=1))
    return learning_curves(a.metrics[a.metrics["run_id"].isin(runs["run_id"])], runs, column)


def _runs(a, key):
    f = next(f for f in papers.FINDINGS if f.key == key)
    return papers.select(a.runs, f.select)


def _draw(ax, curves, x_of, ylim=None):
    for arm, c in curves.groupby("arm"):
        c = c.sort_values("step")
        color = CELL_COLORS.get(arm, "tab:gray")
        seeds = int(c["seeds"].max())
        ax.plot(x_of(c["step"]), c["mean"], color=color, lw=1.2,
                label=f"{arm} ({seeds} seed{'s' * (seeds > 1)})")
        stops = c[c["stops"] > 0]
        ax.plot(x_of(stops["step"]), stops["mean"], "x", color=color, ms=7)
    base = curves["baseline"].dropna()
    if len(base):
        ax.axhline(base.mean(), color="black", ls=":", lw=2, label="baseline")
    if ylim:
        ax.set_ylim(*ylim)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper right", framealpha=0.8)


def _grid(n):
    rows = 1 if n <= 2 else 2
    cols = int(np.ceil(n / rows))
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.9 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def _suptitled(name, title, caption, fig):
    """[the Figure] of a multi-panel fig, titled and laid out."""
    fig.suptitle(title)
    fig.tight_layout()
    return [Figure(name, title, caption, fig)]


def adding_figures(a):
    """Arjovsky et al. Fig. 2 in its form, once in the paper's settings and once in rnnbench's default."""
    out = []
    for setting, prefix, label in (("paper", "arjovsky", "the paper's settings (RMSProp, batch 20, clip 1)"),
                                   ("default", "default", "rnnbench's default setup (Adam, batch 50)")):
        panels = [(T, _by_cell(a, r, "test_loss")) for T in PAPER_T["adding"]
                  if not (r := _runs(a, f"{prefix}-adding-T{T}")).empty]
        if not panels:
            continue
        fig, axes = _grid(len(panels))
        for ax, (T, curves) in zip(axes, panels):
            top = max(0.3, min(1.0, 1.15 * curves["mean"].max()))
            _draw(ax, curves, lambda s: s / 100, ylim=(0, top))
            ax.set_title(f"Sequence length = {T}")
            ax.set_xlabel("training steps (hundreds)")
            ax.set_ylabel("test MSE")
        title = f"The adding problem, as Arjovsky et al. 2016 Fig. 2: {label}"
        fig.suptitle(title)
        fig.tight_layout()
        out.append(Figure(f"papers_adding_{setting}", title,
                          "Test MSE against training steps per sequence length, the 0.167 baseline dotted, "
                          "as the paper draws it (mean over seeds; × marks a run stopped once solved, held "
                          "after).", fig))
    return out


def copy_figure(a):
    """Arjovsky et al. Fig. 1 in its form: cross-entropy against training examples (thousands)."""
    panels = [(T, r, _by_cell(a, r, "test_loss")) for T in PAPER_T["copy"]
              if not (r := _runs(a, f"arjovsky-copy-T{T}")).empty]
    if not panels:
        return []
    fig, axes = _grid(len(panels))
    for ax, (T, runs, curves) in zip(axes, panels):
        batch = float(runs["batch"].iloc[0])
        _draw(ax, curves, lambda s: s * batch / 1000, ylim=(0, 1.7 * curves["baseline"].mean()))
        ax.set_title(f"Time lag = {T}")
        ax.set_xlabel("training examples (thousands)")
        ax.set_ylabel("test cross-entropy (nats per step)")
    title = "The copying memory problem, as Arjovsky et al. 2016 Fig. 1: the paper's settings"
    return _suptitled("papers_copy", title,
                      "Cross-entropy against training examples per time lag, the memoryless baseline 10 "
                      "ln 8 / (T + 20) dotted (mean over seeds; × marks a run stopped once solved).", fig)


def gradnorm_figure(a):
    """Arjovsky et al. Fig. 4 (i) and (ii): ||dL/dh_t|| over t at T = 1000, at step 0 and after 100 steps."""
    panels = []
    for key, step, title in (("arjovsky-gradnorm-init", 0, "Beginning of training"),
                             ("arjovsky-gradnorm-100", 100, "After 100 iterations")):
        runs = _runs(a, key)
        g = a.gradnorms[a.gradnorms["run_id"].isin(runs["run_id"]) & (a.gradnorms["step"] == step)
                        & (a.gradnorms["layer"] == 0)]
        if len(g):
            cells = runs.set_index("run_id").apply(cell_label, axis=1)
            curve = g.assign(cell=g["run_id"].map(cells)).groupby(["cell", "t"])["h_norm"].agg(_geomean)
            panels.append((title, curve))
    if not panels:
        return []
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.9), sharey=True, squeeze=False)
    for ax, (title, curve) in zip(axes[0], panels):
        for cell, c in curve.groupby(level="cell"):
            c = c.droplevel("cell")
            c = c[c > 0]     # exact zeros (float underflow) have no place on a log axis
            ax.plot(c.index, c.values, color=CELL_COLORS.get(cell, "tab:gray"), lw=2, label=cell)
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("time step t")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    axes[0][0].set_ylabel("gradient norm ‖dL/dh_t‖")
    title = "Gradient norms over time at T = 1000, as Arjovsky et al. 2016 Fig. 4"
    return _suptitled("papers_gradnorm", title,
                      "‖dL/dh_t‖ on the probe batch against t, before training and after 100 RMSProp "
                      "steps (geometric mean over seeds; where a curve ends towards t=0 it underflowed "
                      "to exactly 0).", fig)


def _geomean(v):
    v = np.asarray(v, dtype=float)
    return 0.0 if (v <= 0).any() else float(np.exp(np.log(v).mean()))


def clipping_figure(a):
    """Pre-clip gradient norm during training, clipped against not, per cell of the paper's clipping rows."""
    runs = pd.concat([_runs(a, "arjovsky-clipping"), _runs(a, "arjovsky-irnn")])
    if runs.empty:
        return []
    runs = runs.assign(arm=runs.apply(cell_label, axis=1) + " " +
                       np.where(runs["clip_mode"].astype(str) == "none", "not clipped", "clipped at 1"))
    m = a.metrics[a.metrics["run_id"].isin(runs["run_id"]) & (a.metrics["step"] > 0)]
    curves = m.merge(runs[["run_id", "arm"]], on="run_id").groupby(["arm", "step"])["grad_norm"].median()
    cells = sorted({arm.split(" ")[0] for arm in curves.index.get_level_values("arm")})
    fig, axes = plt.subplots(1, len(cells), figsize=(4.6 * len(cells), 3.6), squeeze=False)
    for ax, cell in zip(axes[0], cells):
        for arm, c in curves.groupby(level="arm"):
            if arm.split(" ")[0] == cell:
                c = c.droplevel("arm")
                ax.plot(c.index / 100, c.values, ls="--" if "not" in arm else "-", lw=1.2,
                        color=CELL_COLORS.get(cell, "tab:gray"), label=arm.partition(" ")[2])
        ax.set_yscale("log")
        ax.set_title(cell)
        ax.set_xlabel("training steps (hundreds)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("gradient norm before clipping (median over seeds)")
    title = "Clipping in the paper's settings (adding T=100, RMSProp 1e-3)"
    return _suptitled("papers_clipping", title,
                      "The global gradient norm before clipping, averaged over each evaluation "
                      "interval: with clipping at 1 (solid) and without (dashed).", fig)


def hochreiter_figure(a):
    """Hochreiter & Schmidhuber 1997 Table 7 has no figure: accuracy against training sequences, with their
    criterion and their 74,000 sequences marked."""
    runs = _runs(a, "hochreiter-adding-T100")
    if runs.empty:
        return []
    curves = _by_cell(a, runs, "accuracy")
    batch = float(runs["batch"].iloc[0])
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    _draw(ax, curves.assign(baseline=np.nan), lambda s: s * batch / 1000, ylim=(0, 1.02))
    ax.axhline(2557 / 2560, color="black", ls=":", lw=1.5, label="criterion: 3 of 2,560 wrong")
    ax.axvline(74, color="black", ls="--", lw=1, label="Table 7: solved after 74,000")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_xlabel("training sequences (thousands)")
    ax.set_ylabel("test sequences within 0.04 (fraction)")
    title = "The adding problem of Hochreiter & Schmidhuber 1997 (T = 100)"
    ax.set_title(title)
    return [Figure("papers_hochreiter", title, "The fraction of 2,560 test sequences processed correctly "
                   "(|error| < 0.04) against training sequences seen, their criterion and Table 7's 74,000 "
                   "marked.", fig)]


def timing_figure(a):
    """Gers et al. 2002: delays measured to the step against training steps, per T, lstm vs peephole (vs
    gru)."""
    runs = _runs(a, "gers-timing")
    if runs.empty:
        return []
    lengths = sorted(runs["seq_len"].unique())
    fig, axes = plt.subplots(1, len(lengths), figsize=(4.6 * len(lengths), 3.6), sharey=True, squeeze=False)
    for ax, T in zip(axes[0], lengths):
        curves = _by_cell(a, runs[runs["seq_len"] == T], "accuracy")
        _draw(ax, curves.assign(baseline=np.nan), lambda s: s / 100, ylim=(0, 1.02))
        ax.axhline(0.95, color="black", ls=":", lw=1.5, label="solved: 95%")
        ax.set_title(f"T = {int(T)} (delays up to {int(T) // 2})")
        ax.set_xlabel("training steps (hundreds)")
    axes[0][0].set_ylabel("delays measured to the step (fraction)")
    title = "Spike timing with and without peepholes (after Gers et al. 2002)"
    return _suptitled("papers_timing", title,
                      "The fraction of test sequences whose delay is read out to the step, per sequence "
                      "length (mean over seeds; × marks a run stopped once solved).", fig)


def indrnn_figure(a):
    """Li et al. 2018 Fig. 2 in its form: test MSE against training steps per T, IndRNN against the LSTM."""
    runs = _runs(a, "li-indrnn")
    lengths = sorted(runs[runs["cell"] == "indrnn"]["seq_len"].unique())
    if not lengths:
        return []
    fig, axes = _grid(len(lengths))
    for ax, T in zip(axes, lengths):
        curves = _by_cell(a, runs[runs["seq_len"] == T], "test_loss")
        _draw(ax, curves, lambda s: s / 100, ylim=(0, max(0.3, min(1.0, 1.15 * curves["mean"].max()))))
        ax.set_title(f"Sequence length = {int(T)}")
        ax.set_xlabel("training steps (hundreds)")
        ax.set_ylabel("test MSE")
    title = "The adding problem, as Li et al. 2018 Fig. 2: IndRNN against the LSTM (Adam, batch 50)"
    return _suptitled("papers_indrnn", title,
                      "Test MSE against training steps at each length IndRNN ran, the 0.167 baseline "
                      "dotted (mean over seeds; × marks a run stopped once solved, held after).", fig)


def paper_figures(a):
    return [*adding_figures(a), *copy_figure(a), *gradnorm_figure(a), *clipping_figure(a),
            *hochreiter_figure(a), *timing_figure(a), *indrnn_figure(a)]
