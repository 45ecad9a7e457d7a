"""Aggregation: the run store's DataFrames -> the tidy tables every figure, table and claim of the report reads.

Inputs are the store's frames (runs: one row per run with its config columns; metrics: run_id + eval rows;
gradnorms: run_id + per-timestep ||dL/dh_t|| rows). Runs are grouped into panels (task, seq_len) and, inside
a panel, into arms: the cell plus whatever else differs between runs of that panel except the seed. The
seed is what we average over.
"""
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rnnbench.bench.comparators import COMPARATORS

# columns of load_runs() that describe the run's outcome, not its config
OUTCOME_COLUMNS = ("run_id", "status", "error", "steps_done", "wall_time")
# config keys that never make two runs different experiments
NOT_AN_AXIS = ("seed", "eval_every", "gradnorm_every", "checkpoint_every")
PANEL = ["task", "seq_len"]

# What "solved" means per task, from the task definitions (Arjovsky et al. 2016 for adding and copy):
# task -> (metric column, comparison, threshold, human description)
SOLVED_RULES = {
    "adding": ("test_loss", "lt", 0.01, "test MSE < 0.01"),
    "copy": ("accuracy", "ge", 0.99, "recall accuracy >= 99%"),
    "timing": ("accuracy", "ge", 0.95, "delay measured to the step in >= 95% of test sequences"),
}


def usable_runs(runs):
    """Runs that produced data (done or diverged), with an `arm` label; failed runs are reported apart."""
    ok = runs[runs["status"].isin(["done", "diverged"])].copy()
    ok["arm"] = _arm_labels(ok)
    return ok


def _config_columns(runs):
    return [c for c in runs.columns if c not in OUTCOME_COLUMNS]


def _fmt(value):
    if isinstance(value, (float, np.floating)):
        return f"{value:g}"
    return str(value)


def cell_label(row):
    """'rnn' for the tanh RNN, 'rnn-relu' for the relu one, the cell name otherwise."""
    act = row.get("nonlinearity", "tanh")
    return f"{row['cell']}-{act}" if row["cell"] == "rnn" and act not in ("tanh", None) else row["cell"]


def _arm_labels(runs):
    # runs: one row per run. Label = cell label + every config key that varies inside the run's panel.
    if runs.empty:
        return pd.Series([], dtype=object, index=runs.index)
    skip = set(PANEL) | set(NOT_AN_AXIS) | {"cell", "nonlinearity"}
    keys = [c for c in _config_columns(runs) if c not in skip]
    labels = pd.Series(runs.apply(cell_label, axis=1), index=runs.index, dtype=object)
    for _, panel in runs.groupby(PANEL, dropna=False):
        varying = [k for k in keys if panel[k].astype(str).nunique() > 1]
        for idx, row in panel.iterrows():
            extra = " ".join(f"{k}={_fmt(row[k])}" for k in varying)
            if extra:
                labels[idx] = f"{labels[idx]} {extra}"
    return labels


def with_run_info(frame, runs, columns=("task", "seq_len", "arm", "cell", "seed", "status")):
    """Join per-run columns onto metrics or gradnorm rows (inner join: rows of unusable runs drop out)."""
    cols = ["run_id"] + [c for c in columns if c in runs.columns]
    return frame.merge(runs[cols], on="run_id", how="inner")


def final_rows(metrics):
    """The last evaluation row of each run."""
    if metrics.empty:
        return metrics
    return metrics.sort_values(["run_id", "step"]).groupby("run_id", as_index=False).tail(1)


def _meets(frame, rule):
    column, op, threshold, _ = rule
    values = frame[column].astype(float)
    return values < threshold if op == "lt" else values >= threshold


def solved_per_run(runs, metrics):
    """One row per run of a task with a solved rule: solved (at its final evaluation) and steps_to_solve
    (first evaluated step meeting the rule, NaN if never). Diverged runs count as not solved."""
    rows = []
    for task, rule in SOLVED_RULES.items():
        task_runs = runs[runs["task"] == task]
        if task_runs.empty:
            continue
        m = metrics[metrics["run_id"].isin(task_runs["run_id"])].sort_values(["run_id", "step"])
        for _, run in task_runs.iterrows():
            rm = m[m["run_id"] == run["run_id"]]
            ok = _meets(rm, rule) if not rm.empty else pd.Series([], dtype=bool)
            solved = bool(len(ok)) and bool(ok.iloc[-1]) and run["status"] == "done"
            first = rm["step"][ok].min() if ok.any() else np.nan
            rows.append({"run_id": run["run_id"], "task": task, "seq_len": run["seq_len"], "arm": run["arm"],
                         "seed": run.get("seed"), "solved": solved, "steps_to_solve": first if solved else np.nan})
    return pd.DataFrame(rows, columns=["run_id", "task", "seq_len", "arm", "seed", "solved", "steps_to_solve"])


def solved_table(per_run):
    """(task, arm, seq_len) -> seeds, fraction solved, median steps to solve among the solved seeds."""
    if per_run.empty:
        return pd.DataFrame(columns=["task", "arm", "seq_len", "seeds", "solved_frac", "median_steps"])
    g = per_run.groupby(["task", "arm", "seq_len"], as_index=False)
    return g.agg(seeds=("run_id", "count"), solved_frac=("solved", "mean"),
                 median_steps=("steps_to_solve", "median"))


def learning_curves(metrics, runs, column="test_loss"):
    """Per panel and arm and step: mean, min, max of `column` over seeds, and the task baseline."""
    m = with_run_info(metrics, runs)
    if m.empty:
        return pd.DataFrame(columns=PANEL + ["arm", "step", "mean", "lo", "hi", "seeds", "baseline"])
    g = m.groupby(PANEL + ["arm", "step"], as_index=False)
    return g.agg(mean=(column, "mean"), lo=(column, "min"), hi=(column, "max"), seeds=(column, "count"),
                 baseline=("baseline_loss", "mean"))


def gradnorm_curves(gradnorms, runs, layer=0):
    """||dL/dh_t|| and ||dL/dc_t|| against t for each panel and arm, at initialization (step 0) and at
    each run's last recorded step; geometric mean over seeds (the curves span decades)."""
    g = with_run_info(gradnorms[gradnorms["layer"] == layer], runs)
    cols = PANEL + ["arm", "when", "t", "h_norm", "c_norm", "seeds"]
    if g.empty:
        return pd.DataFrame(columns=cols)
    last = g.groupby("run_id")["step"].transform("max")
    init = g[g["step"] == 0].assign(when="init")
    trained = g[(g["step"] == last) & (last > 0)].assign(when="trained")
    both = pd.concat([init, trained], ignore_index=True)
    out = both.groupby(PANEL + ["arm", "when", "t"], as_index=False).agg(
        h_norm=("h_norm", _geomean), c_norm=("c_norm", _geomean), seeds=("run_id", "nunique"))
    return out[cols]


def _geomean(values):
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.nan
    with np.errstate(divide="ignore"):
        return float(np.exp(np.mean(np.log(v)))) if np.all(v > 0) else float(np.min(v) if v.min() == 0 else np.nan)


def gradient_decay_table(curves):
    """Per panel, arm and when: ||dL/dh_0|| / ||dL/dh_{T-1}|| (how much of the last step's gradient
    reaches the first step; ~1 keeps it alive, << 1 is vanishing, >> 1 exploding)."""
    cols = PANEL + ["arm", "when", "first_over_last", "c_first_over_last"]
    if curves.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for key, c in curves.groupby(PANEL + ["arm", "when"]):
        c = c.sort_values("t")
        first, last = c.iloc[0], c.iloc[-1]
        rows.append(dict(zip(PANEL + ["arm", "when"], key),
                         first_over_last=_ratio(first["h_norm"], last["h_norm"]),
                         c_first_over_last=_ratio(first["c_norm"], last["c_norm"])))
    return pd.DataFrame(rows, columns=cols)


def _ratio(a, b):
    a, b = float(a), float(b)
    if not (np.isfinite(a) and np.isfinite(b)) or b == 0:
        return np.nan
    return a / b


FORECAST_COLUMNS = ["nrmse_1", "persistence_1", "nrmse_multi", "persistence_multi"]


def forecast_table(metrics, runs):
    """Runs with NRMSE rows: final one-step and multi-step NRMSE per panel and arm (mean over seeds), next
    to the persistence baseline's."""
    cols = PANEL + ["arm", "seeds"] + FORECAST_COLUMNS
    if metrics.empty or "nrmse_1" not in metrics.columns:
        return pd.DataFrame(columns=cols)
    f = with_run_info(final_rows(metrics), runs)
    f = f[f["nrmse_1"].notna()]
    if f.empty:
        return pd.DataFrame(columns=cols)
    out = f.groupby(PANEL + ["arm"], as_index=False).agg(
        seeds=("run_id", "count"), **{c: (c, "mean") for c in FORECAST_COLUMNS})
    return out[cols]


def training_speed(metrics, runs):
    """Median training steps/s per (task, seq_len, arm, backend, hidden): the throughput the runs saw."""
    cols = PANEL + ["arm", "cell", "backend", "hidden", "steps_per_s"]
    if metrics.empty:
        return pd.DataFrame(columns=cols)
    info = [c for c in ("task", "seq_len", "arm", "cell", "backend", "hidden") if c in runs.columns]
    m = with_run_info(metrics, runs, columns=info)
    m = m[np.isfinite(m["steps_per_s"].astype(float)) & (m["step"] > 0)]
    if m.empty:
        return pd.DataFrame(columns=cols)
    return m.groupby(info, as_index=False).agg(steps_per_s=("steps_per_s", "median"))


def clipping_table(metrics, runs):
    """Panels whose arms differ in clipping: per arm, runs, fraction diverged and the largest pre-clip
    gradient norm seen (median over seeds)."""
    cols = PANEL + ["arm", "clip_mode", "clip", "runs", "diverged_frac", "max_grad_norm"]
    if runs.empty or "clip_mode" not in runs.columns:
        return pd.DataFrame(columns=cols)
    peak = metrics.groupby("run_id")["grad_norm"].max().rename("peak") if not metrics.empty else None
    rows = []
    for key, panel in runs.groupby(PANEL):
        clipped = panel["clip_mode"].astype(str) != "none"
        if clipped.all() or not clipped.any():
            continue
        for arm, a in panel.groupby("arm"):
            peaks = peak.reindex(a["run_id"]) if peak is not None else pd.Series(dtype=float)
            rows.append(dict(zip(PANEL, key), arm=arm, clip_mode=a["clip_mode"].iloc[0],
                             clip=a["clip"].iloc[0] if "clip" in a else np.nan, runs=len(a),
                             diverged_frac=float((a["status"] == "diverged").mean()),
                             max_grad_norm=float(peaks.median()) if len(peaks) else np.nan))
    return pd.DataFrame(rows, columns=cols)


def speed_table(bench_rows):
    """Rows of `rnnbench bench` JSON -> one row per measurement with, per framework c, its time c_time_s and
    c_ratio = time_s / c_time_s (below 1: rnnbench is faster; NaN where the row was not compared with c).
    Rows written before per-framework columns (against, against_time_s) fill their one framework's."""
    columns = ["cell", "backend", "against", "pass", "T", "B", "I", "H", "dtype", "threads", "time_s",
               *(f"{c}_{k}" for c in COMPARATORS for k in ("time_s", "ratio"))]
    if not bench_rows:
        return pd.DataFrame(columns=columns)
    b = pd.DataFrame(bench_rows)
    b = b[b["time_s"].notna()].copy()
    if "against_time_s" in b:
        framework = b["against"].str.partition("-")[0]
        for c in COMPARATORS:
            b[f"{c}_time_s"] = b["against_time_s"].where(framework == c)
    for c in COMPARATORS:
        b[f"{c}_time_s"] = b[f"{c}_time_s"].astype(float) if f"{c}_time_s" in b else np.nan
        b[f"{c}_ratio"] = b["time_s"].astype(float) / b[f"{c}_time_s"]
    return b[[c for c in columns if c in b.columns]].reset_index(drop=True)


@dataclass
class Aggregates:
    """Everything the report shows, computed once from the store."""
    runs: pd.DataFrame            # usable runs (done or diverged) with arm labels
    failed: pd.DataFrame          # failed runs: run_id, error
    solved_runs: pd.DataFrame     # solved_per_run
    solved: pd.DataFrame          # solved_table
    curves: pd.DataFrame          # learning_curves
    gradcurves: pd.DataFrame      # gradnorm_curves
    decay: pd.DataFrame           # gradient_decay_table
    forecast: pd.DataFrame        # forecast_table
    train_speed: pd.DataFrame     # training_speed
    clipping: pd.DataFrame        # clipping_table
    speed: pd.DataFrame           # speed_table
    bench_meta: dict              # machine metadata from the bench JSON


RUN_COLUMNS = list(OUTCOME_COLUMNS) + ["task", "seq_len", "cell", "nonlinearity", "seed"]
METRIC_COLUMNS = ["run_id", "step", "train_loss", "test_loss", "accuracy", "baseline_loss", "rel_loss",
                  "grad_norm", "wall_time", "steps_per_s"]
GRADNORM_COLUMNS = ["run_id", "step", "layer", "t", "h_norm", "c_norm"]


def _with_columns(frame, columns):
    # None or a frame from an empty store -> a frame with at least the contract's columns
    frame = pd.DataFrame(columns=columns) if frame is None else frame
    missing = [c for c in columns if c not in frame.columns]
    return frame.assign(**{c: pd.Series(dtype=object if c in ("status", "error", "task", "cell") else float)
                           for c in missing}) if missing else frame


def aggregate_runs(runs):
    """load_runs()'s frame, or None, with at least the columns the report reads."""
    return _with_columns(runs, RUN_COLUMNS)


def aggregate(runs, metrics, gradnorms, bench=None):
    """Store frames (None where the store has none) + the bench JSON dict or None -> Aggregates."""
    runs = aggregate_runs(runs)
    usable = usable_runs(runs)
    metrics = _with_columns(metrics, METRIC_COLUMNS)
    metrics = metrics[metrics["run_id"].isin(usable["run_id"])]
    gradnorms = _with_columns(gradnorms, GRADNORM_COLUMNS)
    gradnorms = gradnorms[gradnorms["run_id"].isin(usable["run_id"])]
    solved_runs = solved_per_run(usable, metrics)
    grad = gradnorm_curves(gradnorms, usable)
    return Aggregates(
        runs=usable, failed=runs[runs["status"] == "failed"], solved_runs=solved_runs,
        solved=solved_table(solved_runs), curves=learning_curves(metrics, usable), gradcurves=grad,
        decay=gradient_decay_table(grad), forecast=forecast_table(metrics, usable),
        train_speed=training_speed(metrics, usable), clipping=clipping_table(metrics, usable),
        speed=speed_table((bench or {}).get("rows", [])), bench_meta=(bench or {}).get("meta", {}))
