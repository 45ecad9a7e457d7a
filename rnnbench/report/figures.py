"""Figures of the report, drawn with matplotlib (Agg) from the tidy frames of aggregate.py.

Each builder returns a list of Figure records (file stem, title, caption, matplotlib figure); save() writes
each as PNG and SVG. Every figure has a title, axis labels with units, and a one-line caption.
"""
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from rnnbench.bench.comparators import COMPARATORS, LABELS  # noqa: E402
from rnnbench.cells import arm_colours  # noqa: E402
from rnnbench.report.aggregate import PANEL  # noqa: E402

CELL_COLORS = arm_colours()   # from the cell registry: each cell's CellSpec.colours
LOSS_UNITS = {"adding": "MSE", "copy": "cross-entropy, nats per step", "timing": "MSE"}


@dataclass
class Figure:
    name: str          # file stem under figures/
    title: str
    caption: str       # one line: what to see in it
    fig: object        # matplotlib Figure


def save(figures, out_dir):
    """Write figures/<name>.png and .svg under out_dir; returns {name: png path relative to out_dir}."""
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    paths = {}
    for f in figures:
        for ext in ("png", "svg"):
            f.fig.savefig(out_dir / "figures" / f"{f.name}.{ext}", dpi=110, bbox_inches="tight")
        plt.close(f.fig)
        paths[f.name] = f"figures/{f.name}.png"
    return paths


def _panel_title(task, seq_len):
    return f"{task}, T={int(seq_len)}"


def _colors(arms):
    # one colour per cell when each cell has one arm; otherwise every arm its own colour
    cells = [a.split(" ")[0] for a in arms]
    if len(set(cells)) == len(cells) and all(c in CELL_COLORS for c in cells):
        return {a: CELL_COLORS[c] for a, c in zip(arms, cells)}
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {a: cycle[i % len(cycle)] for i, a in enumerate(arms)}


def _legend(ax):
    ax.legend(fontsize=7, loc="best", framealpha=0.8)


def gradnorm_figures(curves):
    """Per panel: ||dL/dh_t|| (solid) and ||dL/dc_t|| (dashed, LSTMs) against t, at init and after
    training."""
    figures = []
    for (task, seq_len), p in curves.groupby(PANEL):
        whens = [w for w in ("init", "trained") if (p["when"] == w).any()]
        fig, axes = plt.subplots(1, len(whens), figsize=(5.2 * len(whens), 3.8), sharey=True, squeeze=False)
        colors = _colors(sorted(p["arm"].unique()))
        for ax, when in zip(axes[0], whens):
            for arm, a in p[p["when"] == when].groupby("arm"):
                a = a.sort_values("t")
                ax.plot(a["t"], a["h_norm"], color=colors[arm], label=f"{arm} ‖dL/dh_t‖")
                if a["c_norm"].notna().any():
                    ax.plot(a["t"], a["c_norm"], color=colors[arm], ls="--", label=f"{arm} ‖dL/dc_t‖")
            ax.set_yscale("log")
            ax.set_xlabel("time step t (input steps)")
            ax.set_title("at initialization" if when == "init" else "after training", fontsize=9)
            ax.grid(True, which="major", alpha=0.3)
            _legend(ax)
        axes[0][0].set_ylabel("gradient norm ‖dL/dh_t‖ (Frobenius, log scale)")
        title = f"Gradient norm over time: {_panel_title(task, seq_len)}"
        fig.suptitle(title)
        figures.append(Figure(
            f"gradnorm_{task}_T{int(seq_len)}", title,
            "How much of the loss gradient at the last step reaches step t: a flat curve keeps it alive back "
            "to t=0, a curve falling towards t=0 is the vanishing gradient (geometric mean over seeds, "
            "layer 0).",
            fig))
    return figures


def learning_curve_figures(curves):
    """Per panel: test loss against training step, one line per arm (mean over seeds, min-max band),
    the task's trivial baseline dashed."""
    figures = []
    for (task, seq_len), p in curves.groupby(PANEL):
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        colors = _colors(sorted(p["arm"].unique()))
        for arm, a in p.groupby("arm"):
            a = a.sort_values("step")
            seeds = int(a["seeds"].max())
            ax.plot(a["step"], a["mean"], color=colors[arm], label=f"{arm} ({seeds} seed{'s' * (seeds > 1)})")
            if seeds > 1:
                ax.fill_between(a["step"], a["lo"], a["hi"], color=colors[arm], alpha=0.2, lw=0)
        baseline = p["baseline"].dropna()
        if len(baseline):
            ax.axhline(baseline.mean(), color="black", ls="--", lw=1,
                       label=f"trivial baseline ({baseline.mean():.3g})")
        ax.set_yscale("log")
        ax.set_xlabel("training step (optimizer updates)")
        ax.set_ylabel(f"test loss ({LOSS_UNITS.get(task, 'task loss')}, log scale)")
        ax.grid(True, which="major", alpha=0.3)
        title = f"Learning curves: {_panel_title(task, seq_len)}"
        ax.set_title(title)
        _legend(ax)
        figures.append(Figure(
            f"curves_{task}_T{int(seq_len)}", title,
            "A cell that learned the task drops well below the dashed trivial baseline; one that stays on it "
            "learned nothing (line: mean over seeds, band: min to max).",
            fig))
    return figures


def forecast_figures(table):
    """Per panel: final one-step and multi-step NRMSE per arm as bars, the persistence baseline as lines."""
    figures = []
    for (task, seq_len), p in table.groupby(PANEL):
        p = p.sort_values("arm")
        x = np.arange(len(p))
        fig, ax = plt.subplots(figsize=(max(4.8, 1.1 * len(p) + 2), 3.8))
        ax.bar(x - 0.2, p["nrmse_1"], 0.4, label="one-step NRMSE", color="tab:blue")
        ax.bar(x + 0.2, p["nrmse_multi"], 0.4, label="multi-step NRMSE", color="tab:cyan")
        ax.axhline(p["persistence_1"].mean(), color="tab:blue", ls="--", lw=1, label="persistence, one-step")
        ax.axhline(p["persistence_multi"].mean(), color="tab:cyan", ls=":", lw=1.5,
                   label="persistence, multi-step")
        ax.set_xticks(x, p["arm"], rotation=20, ha="right", fontsize=8)
        ax.set_xlabel("cell")
        ax.set_ylabel("NRMSE (RMSE / std of target, unitless)")
        title = f"Forecasting error: {_panel_title(task, seq_len)}"
        ax.set_title(title)
        _legend(ax)
        figures.append(Figure(
            f"forecast_{task}_T{int(seq_len)}", title,
            "Bars below their dashed persistence line beat the naive forecast 'the next value equals the "
            "last one'.",
            fig))
    return figures


def speed_figures(speed):
    """Ratio rnnbench time / framework time per cell, one bar group per backend, framework and pass (median
    over shapes; rows not compared with a framework have no bar for it)."""
    long = pd.concat([speed.assign(framework=LABELS[c], ratio=speed[f"{c}_ratio"]) for c in COMPARATORS])
    long = long[long["ratio"].notna()]
    if long.empty:
        return []
    groups = long.groupby(["backend", "framework", "pass"], sort=True)
    cells = sorted(long["cell"].unique())
    fig, ax = plt.subplots(figsize=(max(5.5, 1.4 * len(cells) + 2), 3.8))
    width = 0.8 / max(1, groups.ngroups)
    for i, ((backend, framework, pas), g) in enumerate(groups):
        med = g.groupby("cell")["ratio"].median().reindex(cells)
        ax.bar(np.arange(len(cells)) + (i - (groups.ngroups - 1) / 2) * width, med, width,
               label=f"{backend} / {framework}, {pas}")
    ax.axhline(1.0, color="black", lw=1, ls="--", label="parity")
    ax.set_yscale("log")            # a ratio of 0.5 is as far from parity as one of 2
    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)
    ax.set_xticks(np.arange(len(cells)), cells)
    ax.set_xlabel("cell")
    ax.set_ylabel("ratio (rnnbench time / framework time)")
    measured = [LABELS[c] for c in COMPARATORS if LABELS[c] in set(long["framework"])]
    title = f"Speed against {' and '.join(measured)} (median over shapes)"
    ax.set_title(title)
    _legend(ax)
    return [Figure("speed", title,
                   "Bars below the dashed parity line mean rnnbench is faster than the framework on the same "
                   "shapes, threads and dtype.", fig)]
