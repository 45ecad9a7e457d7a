"""Aggregation: the run store's DataFrames -> the tidy tables every figure, table and claim of the report
reads.

Inputs are the store's frames (runs: one row per run with its config columns; metrics: run_id + eval rows;
gradnorms: run_id + per-timestep ||dL/dh_t|| rows). Runs are grouped into panels (task, seq_len) and, inside
a panel, into arms: the cell plus whatever else differs between runs of that panel except the seed. The
seed is what we average over.

A run stopped when solved (config stop_when_solved; status done before its last step) ends its curve early:
learning curves hold its last evaluation for the later steps its arm's other seeds ran (`held` counts such
seeds per point), so a mean over seeds never drops a solved seed and jumps to the unsolved ones.
"""
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rnnbench.bench.comparators import COMPARATORS

# columns of load_runs() that describe the run's outcome, not its config
OUTCOME_COLUMNS = ("run_id", "status", "error", "steps_done", "wall_time", "solved_at")
# config keys that never make two runs different experiments (how often it is measured, on how many test
# sequences, and whether it stops once solved change no result before it stops)
NOT_AN_AXIS = ("seed", "eval_every", "gradnorm_every", "gradnorm_dtype", "checkpoint_every", "test_size",
               "stop_when_solved", "solve_patience")
PANEL = ["task", "seq_len"]

# What "solved" means per task, from the task definitions (Arjovsky et al. 2016 for adding and copy):
# task -> (metric column, comparison, threshold, human description)
SOLVED_RULES = {
    "adding": ("test_loss", "lt", 0.01, "test MSE < 0.01"),
    "copy": ("accuracy", "ge", 0.99, "recall accuracy >= 99%"),
    "timing": ("accuracy", "ge", 0.95, "delay measured to the step in >= 95% of test sequences"),
}
# ... and per task variant where its paper has its own: Hochreiter & Schmidhuber 1997 (Exp. 4) stop once the
# 2,000 latest sequences are all within 0.04 and report at most 3 of 2,560 test sequences wrong
VARIANT_RULES = {
    ("adding", "hochreiter"): ("accuracy", "ge", 2557 / 2560,
                               "at most 3 of 2,560 test sequences off by 0.04 or more (hochreiter variant)"),
}


def solve_rule(run):
    """The solved rule of a run (a row of the runs frame), or None for a task without one."""
    return VARIANT_RULES.get((run["task"], run.get("adding_variant")), SOLVED_RULES.get(run["task"]))


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
        # a key unset (None) in some runs applies only to the others (forget_bias, momentum): not an axis
        varying = _naming_keys(panel, [k for k in keys if panel[k].dropna().astype(str).nunique() > 1],
                               labels[panel.index])
        for idx, row in panel.iterrows():
            extra = " ".join(f"{k}={_fmt(row[k])}" for k in varying)
            if extra:
                labels[idx] = f"{labels[idx]} {extra}"
    return labels


# the keys a setting is best named by, first; the others follow in the config's order
NAMING_ORDER = ("optimizer", "adding_variant", "series", "clip_mode", "lr", "hidden", "batch", "init")


def _naming_keys(panel, varying, cells):
    """The keys of `varying` that name the panel's settings: taken in NAMING_ORDER, each only when it tells
    apart settings the ones before it did not, until every setting that all of `varying` tell apart has a
    label of its own (keys that move together, as the paper's optimizer, batch and step count do, name a
    setting once). Runs differing only in clipping always differ in clip_mode, which the clipping table
    pairs them by."""
    def settings(keys):
        named = panel[keys].astype(str).agg(" ".join, axis=1) if keys else pd.Series("", panel.index)
        return (named + " " + cells).nunique()

    target = settings(varying)
    order = sorted(varying, key=lambda k: NAMING_ORDER.index(k) if k in NAMING_ORDER else len(NAMING_ORDER))
    chosen = []
    for k in order:
        if settings(chosen) == target:
            break
        if settings(chosen + [k]) > settings(chosen):
            chosen.append(k)
    return [k for k in varying if k in chosen]


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
    """One row per run of a task with a solved rule: solved (at its final evaluation; a run stopped when
    solved ends on one), steps_to_solve (first evaluated step meeting the rule, NaN unless solved), last_step
    (its final evaluation) and stopped_early. Diverged runs count as not solved."""
    cols = ["run_id", "task", "seq_len", "arm", "seed", "solved", "steps_to_solve", "last_step",
            "stopped_early"]
    by_run = dict(tuple(metrics.sort_values(["run_id", "step"]).groupby("run_id"))) if len(metrics) else {}
    rows = []
    for _, run in runs.iterrows():
        rule = solve_rule(run)
        if rule is None:
            continue
        rm = by_run.get(run["run_id"], metrics.iloc[:0])
        ok = _meets(rm, rule) if not rm.empty else pd.Series([], dtype=bool)
        solved = bool(len(ok)) and bool(ok.iloc[-1]) and run["status"] == "done"
        last = rm["step"].max() if len(rm) else np.nan
        rows.append({"run_id": run["run_id"], "task": run["task"], "seq_len": run["seq_len"],
                     "arm": run["arm"], "seed": run.get("seed"), "solved": solved,
                     "steps_to_solve": rm["step"][ok].min() if solved else np.nan, "last_step": last,
                     "stopped_early": bool(run["status"] == "done" and last < run["steps"])})
    return pd.DataFrame(rows, columns=cols)


def solved_table(per_run):
    """(task, arm, seq_len) -> seeds, fraction solved, median steps to solve among the solved seeds."""
    if per_run.empty:
        return pd.DataFrame(columns=["task", "arm", "seq_len", "seeds", "solved_frac", "median_steps"])
    g = per_run.groupby(["task", "arm", "seq_len"], as_index=False)
    return g.agg(seeds=("run_id", "count"), solved_frac=("solved", "mean"),
                 median_steps=("steps_to_solve", "median"))


def stopped_runs(runs, metrics):
    """run_id -> last evaluated step, for the runs that stopped when solved (done before their last step)."""
    if metrics.empty or runs.empty:
        return {}
    last = metrics.groupby("run_id")["step"].max()
    r = runs.set_index("run_id").reindex(last.index)
    early = (r["status"] == "done") & (last < r["steps"].astype(float))
    return last[early].to_dict()


def hold_stopped(metrics, runs):
    """Metrics rows plus, for each run stopped when solved, copies of its last row at every later step its
    arm's other seeds evaluated (held=True on the copies; stop=True on the run's real last row)."""
    m = metrics.assign(held=False, stop=False)
    stopped = stopped_runs(runs, metrics)
    if not stopped:
        return m
    arm = runs.set_index("run_id")[PANEL + ["arm"]].apply(tuple, axis=1)
    m["_arm"] = m["run_id"].map(arm)
    steps = m.groupby("_arm")["step"].unique()
    m.loc[m["run_id"].isin(list(stopped)) & (m["step"] == m["run_id"].map(stopped)), "stop"] = True
    copies = []
    for rid, last_step in stopped.items():
        row = m[(m["run_id"] == rid) & (m["step"] == last_step)].iloc[0]
        later = sorted(s for s in steps[row["_arm"]] if s > last_step)
        if later:
            copies.append(pd.DataFrame([row] * len(later)).assign(step=later, held=True, stop=False))
    return pd.concat([m, *copies], ignore_index=True).drop(columns="_arm")


def learning_curves(metrics, runs, column="test_loss"):
    """Per panel and arm and step: mean, min, max of `column` over seeds, and the task baseline; a seed that
    stopped when solved counts with its last value (held: seeds held at this step; stops: seeds stopping)."""
    cols = PANEL + ["arm", "step", "mean", "lo", "hi", "seeds", "baseline", "held", "stops"]
    m = with_run_info(hold_stopped(metrics, runs), runs)
    if m.empty:
        return pd.DataFrame(columns=cols)
    g = m.groupby(PANEL + ["arm", "step"], as_index=False)
    return g.agg(mean=(column, "mean"), lo=(column, "min"), hi=(column, "max"), seeds=(column, "count"),
                 baseline=("baseline_loss", "mean"), held=("held", "sum"), stops=("stop", "sum"))[cols]


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
        return (float(np.exp(np.mean(np.log(v)))) if np.all(v > 0)
                else float(np.min(v) if v.min() == 0 else np.nan))


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


CLIP_KEYS = ("clip_mode", "clip")


def clipping_table(metrics, runs):
    """Runs that differ only in clipping: per group of such runs (`pair`: its arm label without the clipping)
    and clip setting, the runs, the fraction that diverged, the largest pre-clip gradient norm seen and the
    final test loss over the baseline (medians over seeds)."""
    cols = PANEL + ["pair", "arm", "clip_mode", "clip", "runs", "diverged_frac", "max_grad_norm",
                    "final_rel_loss"]
    if runs.empty or "clip_mode" not in runs.columns:
        return pd.DataFrame(columns=cols)
    keys = [c for c in _config_columns(runs) if c not in set(NOT_AN_AXIS) | set(CLIP_KEYS) | {"arm"}]
    peak = metrics.groupby("run_id")["grad_norm"].max() if len(metrics) else pd.Series(dtype=float)
    final = final_rows(metrics).set_index("run_id")["rel_loss"] if len(metrics) else pd.Series(dtype=float)
    rows = []
    as_text = runs[keys].apply(lambda col: col.map(lambda v: "" if pd.isna(v) else str(v)))
    for _, index in as_text.groupby(keys).groups.items():
        group = runs.loc[index]
        clipped = group["clip_mode"].astype(str) != "none"
        if clipped.all() or not clipped.any():
            continue
        for arm, a in group.groupby("arm"):
            pair = " ".join(w for w in arm.split(" ") if not w.startswith(("clip_mode=", "clip=")))
            rows.append({**dict(zip(PANEL, a.iloc[0][PANEL])), "pair": pair, "arm": arm,
                         "clip_mode": a["clip_mode"].iloc[0], "clip": a["clip"].iloc[0], "runs": len(a),
                         "diverged_frac": float((a["status"] == "diverged").mean()),
                         "max_grad_norm": float(peak.reindex(a["run_id"]).median()),
                         "final_rel_loss": float(final.reindex(a["run_id"]).median())})
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
    metrics: pd.DataFrame         # evaluation rows of the usable runs
    gradnorms: pd.DataFrame       # gradient-norm rows of the usable runs
    sessions: list                # `reproduce` invocations on this store (rnnbench.report.walltime)


RUN_COLUMNS = list(OUTCOME_COLUMNS) + ["task", "seq_len", "cell", "nonlinearity", "seed", "steps"]
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


def aggregate(runs, metrics, gradnorms, bench=None, sessions=None):
    """Store frames (None where the store has none), the bench JSON dict or None and the store's reproduce
    sessions (walltime.load_sessions) -> Aggregates."""
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
        speed=speed_table((bench or {}).get("rows", [])), bench_meta=(bench or {}).get("meta", {}),
        metrics=metrics, gradnorms=gradnorms, sessions=list(sessions or []))
