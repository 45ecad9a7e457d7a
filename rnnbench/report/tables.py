"""Tables of the report: tidy frames from aggregate.py -> display tables, written as CSV, Markdown and HTML.

A Table keeps the long frame (`data`, written to tables/<name>.csv with full precision, what tests recompute)
and the frame a reader sees (`view`, numbers rounded, pivoted where that reads better). A FigureLink in a view
cell is a link to figures/<name>.png in Markdown and names the figure in the HTML page, which embeds it.
"""
import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rnnbench.bench.comparators import COMPARATORS, LABELS
from rnnbench.cells import CELLS


@dataclass
class Table:
    name: str           # file stem under tables/
    title: str
    caption: str        # one line: what to see in it
    data: pd.DataFrame  # long form, full precision
    view: pd.DataFrame  # what is shown


@dataclass(frozen=True)
class FigureLink:
    name: str           # figure file stem
    title: str


def fmt(value):
    """3 significant digits; integers as integers; missing as an em dash."""
    if value is None or (isinstance(value, (float, np.floating)) and not np.isfinite(value)):
        return "—" if value is None or np.isnan(value) else str(value)
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e6 else f"{value:.3g}"
    return str(value)


def save_csv(tables, out_dir):
    (out_dir / "tables").mkdir(parents=True, exist_ok=True)
    for t in tables:
        t.data.to_csv(out_dir / "tables" / f"{t.name}.csv", index=False)


def _md_cell(x):
    if isinstance(x, FigureLink):
        return f"[{x.title}](figures/{x.name}.png)".replace("|", "\\|")
    return fmt(x).replace("|", "\\|")


def to_markdown(table):
    v = table.view
    head = "| " + " | ".join(str(c) for c in v.columns) + " |"
    rule = "|" + "|".join("---" for _ in v.columns) + "|"
    body = ["| " + " | ".join(_md_cell(x) for x in row) + " |" for row in v.itertuples(index=False)]
    return "\n".join([head, rule] + body)


def _html_cell(x):
    return html.escape(f"figure “{x.title}” in this section" if isinstance(x, FigureLink) else fmt(x))


def to_html(table):
    v = table.view
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in v.columns)
    body = "".join("<tr>" + "".join(f"<td>{_html_cell(x)}</td>" for x in row) + "</tr>"
                   for row in v.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def gradient_decay(decay):
    """Section 1: how much of the last step's gradient reaches t=0, per cell, before and after training."""
    view = decay.rename(columns={"seq_len": "T", "arm": "cell", "when": "when",
                                 "first_over_last": "‖dL/dh_0‖ / ‖dL/dh_T-1‖",
                                 "c_first_over_last": "‖dL/dc_0‖ / ‖dL/dc_T-1‖"})
    return Table("gradient_decay", "Gradient reaching the first step",
                 "Ratios near 1 keep the gradient alive over the whole sequence; tiny ratios are the "
                 "vanishing gradient (geometric mean over seeds, layer 0).", decay, view)


def solved(solved_long, rules):
    """Section 3: per task, cells down and sequence lengths across; 'k/n (median steps)' in each cell."""
    tables = []
    for task, s in solved_long.groupby("task"):
        text = s.apply(lambda r: f"{_frac(r)} ({fmt(r['median_steps'])} steps)" if r["solved_frac"] > 0
                       else f"{_frac(r)}", axis=1)
        view = s.assign(text=text).pivot(index="arm", columns="seq_len", values="text").fillna("—")
        view.columns = [f"T={int(c)}" for c in view.columns]
        view = view.reset_index().rename(columns={"arm": "cell"})
        tables.append(Table(f"solved_{task}", f"Solved: {task}",
                            f"Seeds that solved it ({rules[task][3]} at the last evaluation) out of seeds "
                            "run, and the median step at which the solved seeds first got there.",
                            s.reset_index(drop=True), view))
    return tables


def _frac(r):
    return f"{int(round(r['solved_frac'] * r['seeds']))}/{int(r['seeds'])} solved"


def forecast(table):
    """Section 4: NRMSE next to persistence."""
    view = table.rename(columns={"seq_len": "T", "arm": "cell", "nrmse_1": "NRMSE 1-step",
                                 "persistence_1": "persistence 1-step", "nrmse_multi": "NRMSE multi-step",
                                 "persistence_multi": "persistence multi-step"})
    return Table("forecast", "Forecasting error against persistence",
                 "A cell beats the naive forecast where its NRMSE is below persistence's (mean over seeds, "
                 "last evaluation).", table, view)


def speed(table):
    """Section 5: bench rows with the ratio rnnbench time / framework time, per framework measured."""
    unmeasured = [c for c in COMPARATORS if table[f"{c}_time_s"].isna().all()]
    view = table.drop(columns=[f"{c}_{k}" for c in unmeasured for k in ("time_s", "ratio")])
    view = view.rename(columns={"time_s": "rnnbench time (s)",
                                **{f"{c}_time_s": f"{LABELS[c]} time (s)" for c in COMPARATORS},
                                **{f"{c}_ratio": f"ratio to {LABELS[c]}" for c in COMPARATORS}})
    return Table("speed", "Kernel timings (and training steps)",
                 "Ratio = rnnbench time / the framework's time on the same shapes, threads and dtype: below "
                 "1 rnnbench is faster (empty where that framework was not measured).", table, view)


def training_speed(table):
    """Section 5: throughput the training runs saw."""
    view = table.drop(columns=["cell"]).rename(columns={"seq_len": "T", "arm": "cell",
                                                        "steps_per_s": "training steps/s (median)"})
    return Table("training_speed", "Training throughput",
                 "Optimizer steps per second during training (forward + backward + update, median over "
                 "evaluations and seeds), for the same task, T and hidden size.", table, view)


def param_counts(hidden_sizes):
    """Section 5: parameters of one recurrent layer of each cell (inner layer of a stack: input size = H)."""
    rows = []
    for h in hidden_sizes:
        for name, spec in CELLS.items():
            n = sum(int(np.prod(s)) for s in spec.param_shapes(h, h).values())
            rows.append({"cell": name, "H": int(h), "parameters": n})
    data = pd.DataFrame(rows, columns=["cell", "H", "parameters"])
    return Table("parameters", "Parameters per layer",
                 "Weights and biases of one recurrent layer with input size = hidden size H (PyTorch's "
                 "layout: G·H·(I+H+2), plus 3H peephole weights).", data, data)


def clipping(table):
    """Section 2: runs that differ only in gradient clipping."""
    view = table.drop(columns=["pair"]).rename(columns={
        "seq_len": "T", "arm": "cell", "diverged_frac": "diverged (fraction)",
        "max_grad_norm": "peak gradient norm (median over seeds)",
        "final_rel_loss": "final loss / baseline (median)"})
    return Table("clipping", "Gradient clipping",
                 "Runs that differ only in clipping: the fraction that diverged (NaN/Inf), the largest "
                 "gradient norm seen before clipping and where the loss ended.", table, view)


def papers(findings, figure_titles):
    """Section 7: one row per published finding, its verdict and a link to the figure that draws it."""
    view = findings.drop(columns=["finding"]).assign(figure=[
        FigureLink(n, figure_titles[n]) if n in figure_titles else None for n in findings["figure"]])
    return Table("papers", "The papers' findings, measured here",
                 "What each paper reports (read off a figure where it says so) beside what this store "
                 "measured in the same setting, and the verdict: reproduced, partly, not reproduced, or "
                 "not run.",
                 findings.assign(figure=[n if n in figure_titles else None for n in findings["figure"]]),
                 view)


def paper_numbers(numbers):
    """Section 7: the numbers behind the verdicts."""
    view = numbers.rename(columns={"seq_len": "T", "seeds": "runs"})
    return Table("papers_numbers", "The numbers behind the verdicts",
                 "Each finding's measured quantities per cell (medians over seeds unless the quantity says "
                 "otherwise).", numbers, view)


def wall_time(sessions):
    """Section 8: each `reproduce` session's estimate and measured time."""
    view = sessions.drop(columns=["loadavg_end"]).rename(columns={
        "calibration_s": "timing runs for the estimate (s)", "estimate_s": "estimate, sweep + bench (s)",
        "measured_s": "measured, sweep + bench (s)", "measured_over_estimate": "measured / estimate",
        "bench_s": "bench (s)", "busy_s": "runs going (s)",
        "end_from": "end taken from", "loadavg_start": "load average at start", "runs_to_run": "runs to run",
        "others_running": "other processes running", "cpu_share": "core share per worker (expected)"})
    return Table("wall_time", "Wall time of each reproduce session",
                 "The estimate reproduce printed before its sweep, from training steps it timed on this "
                 "machine and the share of a core the machine's other work left each worker, beside the "
                 "measured time of the same sweep and bench, and the part of it when at least one run of "
                 "the suite was going.", sessions, view)
