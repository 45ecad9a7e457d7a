"""The published findings this harness reproduces, as data, and how each is decided from a store.

A Finding names the paper, where in it the finding is (figure or table), the setting, and what the paper
reports, with its numbers (given in the text, or read off a figure: it says which). `select` picks the
store's runs trained the same way (config values); `decide` measures them and returns the numbers behind the
row, one sentence of what was measured, and the verdict with its reason; `figure` names the report figure
that draws it in the paper's form (rnnbench.report.paper_figures).

Sources. Arjovsky, Shah & Bengio 2016, "Unitary Evolution Recurrent Neural Networks" (ICML): its text and the
figures in its authors' repository github.com/amarshah/complex_RNN (paper/uRNN/figures). Hochreiter &
Schmidhuber 1997, "Long short-term memory" (Neural Computation 9(8)), Sec. 5.4 and Table 7. Gers, Schraudolph
& Schmidhuber 2002, "Learning precise timing with LSTM recurrent networks" (JMLR 3): its abstract; its MSD/GTS
comparison is qualitative here. Li, Li, Cook, Zhu & Gao 2018, "Independently Recurrent Neural Network
(IndRNN): Building A Longer and Deeper RNN" (CVPR), Sec. 4.1 and Fig. 2, and its authors' adding.py
(github.com/Sunnydreamrain/IndRNN_Theano_Lasagne) for the settings.
"""
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from rnnbench.report.aggregate import final_rows

REPRODUCED, PARTLY, NOT_REPRODUCED, NOT_RUN = "reproduced", "partly", "not reproduced", "not run"

# the paper's training settings (Arjovsky et al. 2016 Sec. 4; amarshah/complex_RNN) and rnnbench's defaults
PAPER = {"optimizer": "rmsprop", "lr": 1e-3, "batch": 20, "clip_mode": "value", "clip": 1.0}
DEFAULT = {"optimizer": "adam", "lr": 1e-3, "batch": 50, "clip_mode": "norm", "clip": 1.0, "hidden": 128}
PLAIN = {"nonlinearity": "tanh", "init": "uniform"}          # the paper's tanh RNN and LSTM, not the IRNN
IRNN = {"cell": "rnn", "nonlinearity": "relu", "init": "identity"}
BEATS, AT = 0.75, 0.9     # final test loss below 3/4 of the baseline beats it; above 0.9 of it sits on it
VANISHED = 1e-6           # ||dL/dh_0|| / ||dL/dh_T-1|| below this: the gradient vanished over the sequence


@dataclass(frozen=True)
class Finding:
    key: str
    paper: str
    where: str                   # figure, table or section
    setting: str                 # the setting, as the paper ran it and as this row measures it
    reports: str                 # what the paper reports, with its numbers
    select: dict                 # config values of the runs that measure it
    decide: Callable             # (finding, runs, aggregates) -> (numbers rows, measured text, verdict,
                                 # reason)
    figure: str                  # report figure drawing it in the paper's form
    params: dict = field(default_factory=dict)


def select(runs, values):
    """The runs whose config has every value (floats compared to 1e-12 relative)."""
    keep = pd.Series(True, index=runs.index)
    for k, v in values.items():
        if k not in runs.columns:
            return runs.iloc[:0]
        col = runs[k]
        if isinstance(v, float):
            keep &= pd.to_numeric(col, errors="coerce").sub(v).abs().le(1e-12 * abs(v))
        elif isinstance(v, (list, tuple)):
            keep &= col.isin(v)
        else:
            keep &= col == v
    return runs[keep]


# ---------------------------------------------------------------- per-run measurements

def final_by_run(a, runs):
    """The last evaluation row of each run in `runs` (indexed by run_id)."""
    m = a.metrics[a.metrics["run_id"].isin(runs["run_id"])]
    return final_rows(m).set_index("run_id")


def _solved(a, runs):
    s = a.solved_runs.set_index("run_id")
    return s.reindex(runs["run_id"])


def _median(values):
    v = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
    return float(v.median()) if len(v) else math.nan


def _row(f, quantity, cell, value, seeds, seq_len=None):
    return {"finding": f.key, "quantity": quantity, "cell": cell, "seq_len": seq_len, "value": value,
            "seeds": seeds}


def _g(x):
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"


def _per_cell(f, a, runs, column, quantity, how=_median):
    """Numbers rows: `how` over seeds of each cell's final `column`; returns (rows, {cell: value})."""
    fin = final_by_run(a, runs)
    rows, values = [], {}
    for cell, r in runs.groupby("cell"):
        values[cell] = how(fin[column].reindex(r["run_id"]))
        rows.append(_row(f, quantity, cell, values[cell], len(r)))
    return rows, values


def _solved_rows(f, a, runs):
    s = _solved(a, runs).assign(cell=runs.set_index("run_id")["cell"])
    rows, frac = [], {}
    for cell, r in s.groupby("cell"):
        frac[cell] = float(r["solved"].mean())
        rows.append(_row(f, "solved fraction", cell, frac[cell], len(r)))
    return rows, frac


# ---------------------------------------------------------------- decisions

def decide_adding(f, runs, a):
    """Fig. 2: the LSTM beats the 1/6 baseline, the tanh RNN does not."""
    rows, mse = _per_cell(f, a, runs, "test_loss", "final test MSE (median over seeds)")
    more, frac = _solved_rows(f, a, runs)
    base = 1 / 6
    steps = int(runs["steps"].max())
    text = "; ".join(f"{c} {_g(mse[c])} ({_frac_text(frac.get(c), runs, c)})" for c in sorted(mse))
    measured = f"final test MSE (baseline {base:.3f}): {text}; {steps:,} steps at most."
    lstm, rnn = mse.get("lstm", math.nan), mse.get("rnn", math.nan)
    if math.isnan(lstm) or math.isnan(rnn):
        return rows + more, measured, NOT_RUN, "needs both the lstm and the tanh rnn in this setting"
    lstm_ok, rnn_ok = lstm < BEATS * base, rnn >= AT * base
    why = [f"lstm {'beat' if lstm_ok else 'did not beat'} the baseline ({_g(lstm)} "
           f"{'<' if lstm_ok else '>='} {BEATS} × {base:.3f})",
           f"the rnn {'stayed on' if rnn_ok else 'left'} it ({_g(rnn)} {'>=' if rnn_ok else '<'} {AT} × "
           f"{base:.3f})"]
    paper_step = f.params.get("leaves_baseline")
    if not lstm_ok and paper_step and steps < 1.5 * paper_step:
        why.append(f"our runs stop at {steps:,} steps; the paper's lstm left the baseline only at "
                   f"~{paper_step:,}")
    return rows + more, measured, _verdict(lstm_ok, rnn_ok), "; ".join(why) + "."


def decide_copy(f, runs, a):
    """Fig. 1: at T=100 the LSTM creeps below the memoryless baseline; at T >= 200 neither it nor the RNN
    does."""
    rows, rel = _per_cell(f, a, runs, "rel_loss", "final loss / memoryless baseline (median over seeds)")
    more, frac = _solved_rows(f, a, runs)
    text = "; ".join(f"{c} {_g(rel[c])} ({_frac_text(frac.get(c), runs, c)})" for c in sorted(rel))
    measured = f"final cross-entropy over the memoryless baseline: {text}."
    lstm, rnn = rel.get("lstm", math.nan), rel.get("rnn", math.nan)
    if math.isnan(lstm) or math.isnan(rnn):
        return rows + more, measured, NOT_RUN, "needs both the lstm and the tanh rnn in this setting"
    below = 0.95
    rnn_ok = rnn >= below and not frac.get("rnn")
    if f.params["lstm_beats"]:
        lstm_ok = lstm < below
        why = f"lstm {_g(lstm)} ({'below' if lstm_ok else 'not below'} {below} × baseline)"
    else:
        lstm_ok = lstm >= below and not frac.get("lstm")
        why = f"lstm {_g(lstm)} ({'on or above' if lstm_ok else 'below'} {below} × baseline)"
    why += f", rnn {_g(rnn)} ({'on or above' if rnn >= below else 'below'} {below} × baseline)"
    return rows + more, measured, _verdict(lstm_ok, rnn_ok), why + "."


def decide_gradnorm(f, runs, a):
    """Fig. 4: ||dL/dh_t|| vanishes exponentially over T = 1000 for the tanh RNN and the LSTM."""
    step = f.params["step"]
    g = a.gradnorms[a.gradnorms["run_id"].isin(runs["run_id"]) & (a.gradnorms["layer"] == 0)
                    & (a.gradnorms["step"] == step)]
    cells = runs.set_index("run_id")["cell"]
    rows, ratio = [], {}
    for cell, r in g.assign(cell=g["run_id"].map(cells)).groupby("cell"):
        per_run = r.sort_values("t").groupby("run_id")["h_norm"].agg(lambda h: _ratio(h.iloc[0], h.iloc[-1]))
        ratio[cell] = _geomean(per_run)
        rows.append(_row(f, f"‖dL/dh_0‖ / ‖dL/dh_T-1‖ at step {step} (geometric mean)", cell, ratio[cell],
                         len(per_run)))
    if not {"rnn", "lstm"} <= set(ratio):
        return rows, "no gradient-norm curves of the rnn and the lstm at this step", NOT_RUN, \
            "needs the rnn and the lstm probed at this step"
    measured = "‖dL/dh_0‖ / ‖dL/dh_T-1‖: " + "; ".join(f"{c} {_g(ratio[c])}" for c in sorted(ratio)) + "."
    ok = {c: ratio[c] < VANISHED for c in ("rnn", "lstm")}
    why = ", ".join(f"{c} {'vanished' if ok[c] else 'did not vanish'} (ratio {_g(ratio[c])} "
                    f"{'<' if ok[c] else '>='} {VANISHED:g})" for c in ("lstm", "rnn"))
    return rows, measured, _verdict(ok["lstm"], ok["rnn"]), why + "."


def decide_clipping(f, runs, a):
    """Sec. 4: without clipping at 1 the RNN's and LSTM's gradients explode."""
    peak = a.metrics.groupby("run_id")["grad_norm"].max()
    rows, exploded, parts = [], {}, []
    for cell, r in runs.groupby("cell"):
        clipped = r[r["clip_mode"].astype(str) != "none"]
        free = r[r["clip_mode"].astype(str) == "none"]
        if clipped.empty or free.empty:
            continue
        p_on, p_off = _median(peak.reindex(clipped["run_id"])), _median(peak.reindex(free["run_id"]))
        d_off = float((free["status"] == "diverged").mean())
        rows += [_row(f, "peak gradient norm, clipped (median)", cell, p_on, len(clipped)),
                 _row(f, "peak gradient norm, not clipped (median)", cell, p_off, len(free)),
                 _row(f, "diverged fraction, not clipped", cell, d_off, len(free))]
        exploded[cell] = d_off > 0 or p_off >= 10 * p_on
        parts.append(f"{cell}: peak pre-clip gradient norm {_g(p_off)} without clipping against {_g(p_on)} "
                     f"with, {d_off:.0%} of unclipped runs diverged")
    if not {"rnn", "lstm"} <= set(exploded):
        return rows, "; ".join(parts) or "no clipping pairs", NOT_RUN, \
            "needs rnn and lstm with and without clipping"
    why = ", ".join(f"{c} {'exploded' if exploded[c] else 'did not explode'} without it"
                    for c in ("lstm", "rnn"))
    return rows, "; ".join(parts) + ".", _verdict(exploded["lstm"], exploded["rnn"]), \
        why + " (exploded: diverged, or a peak norm at least 10× the clipped runs')."


def decide_irnn(f, runs, a):
    """Sec. 4: at lr 1e-3 the IRNN blows up without clipping (and runs only with tiny rates and clipping)."""
    fin = final_by_run(a, runs)
    rows, blew, parts = [], {}, []
    for mode, r in runs.groupby(runs["clip_mode"].astype(str) == "none"):
        name = "not clipped" if mode else "clipped"
        rel = fin["rel_loss"].reindex(r["run_id"])
        up = ((r.set_index("run_id")["status"] == "diverged") | (rel > 1.0)).mean()
        blew[name] = up >= 0.5
        rows += [_row(f, f"final loss / baseline, {name} (median)", "rnn-relu", _median(rel), len(r)),
                 _row(f, f"blew up fraction, {name}", "rnn-relu", float(up), len(r))]
        parts.append(f"{name}: {up:.0%} of runs diverged or ended above the baseline (median final loss "
                     f"{_g(_median(rel))} × baseline)")
    if "not clipped" not in blew:
        return rows, "; ".join(parts) or "no IRNN runs", NOT_RUN, "needs IRNN runs without clipping"
    verdict = REPRODUCED if blew["not clipped"] and blew.get("clipped", False) else (
        PARTLY if blew["not clipped"] else NOT_REPRODUCED)
    why = ("without clipping it blew up" if blew["not clipped"] else "without clipping it ran stably") + \
          (", and with clipping too, as the paper says it needs a much lower rate as well"
           if blew.get("clipped") else ", with clipping it ran")
    return rows, "; ".join(parts) + ".", verdict, why + "."


def decide_hochreiter(f, runs, a):
    """Table 7: the LSTM meets their criterion at T=100 after 74,000 training sequences."""
    s = _solved(a, runs).assign(cell=runs.set_index("run_id")["cell"],
                                batch=runs.set_index("run_id")["batch"])
    fin = final_by_run(a, runs)
    rows, parts, got = [], [], {}
    for cell, r in s.groupby("cell"):
        frac = float(r["solved"].mean())
        seqs = _median(r["steps_to_solve"] * r["batch"])
        wrong = _median((1 - fin["accuracy"].reindex(r.index)) * 2560)
        got[cell] = (frac, seqs, wrong)
        rows += [_row(f, "solved fraction", cell, frac, len(r)),
                 _row(f, "training sequences to solve (median over solved seeds)", cell, seqs, len(r)),
                 _row(f, "test sequences wrong of 2,560 at the end (median)", cell, wrong, len(r))]
        parts.append(f"{cell} {frac:.0%} solved" + (f" after {seqs:,.0f} sequences" if frac else "")
                     + f", {_g(wrong)} of 2,560 wrong at the end")
    if "lstm" not in got:
        return rows, "no lstm runs", NOT_RUN, "needs lstm runs of the hochreiter variant"
    frac, seqs, wrong = got["lstm"]
    if frac >= 0.5:
        verdict, why = REPRODUCED, f"the lstm met the criterion in {frac:.0%} of seeds, after a median " \
                                   f"{seqs:,.0f} sequences against their 74,000 (a different net and " \
                                   f"optimizer)"
    elif wrong < 26:
        verdict, why = PARTLY, f"the lstm came within 1% ({_g(wrong)} of 2,560 wrong) but not to 3 or fewer"
    else:
        verdict, why = NOT_REPRODUCED, f"the lstm ended with {_g(wrong)} of 2,560 test sequences wrong"
    return rows, "; ".join(parts) + ".", verdict, why + "."


def decide_timing(f, runs, a):
    """Gers et al. 2002: measuring a delay does not need peepholes (plain LSTM learns it too)."""
    s = _solved(a, runs).assign(cell=runs.set_index("run_id")["cell"],
                                seq_len=runs.set_index("run_id")["seq_len"])
    rows, table = [], {}
    for (cell, T), r in s.groupby(["cell", "seq_len"]):
        table[(cell, T)] = float(r["solved"].mean())
        rows.append(_row(f, "solved fraction", cell, table[(cell, T)], len(r), seq_len=int(T)))
    lengths = sorted({T for c, T in table if c in ("lstm", "peephole")})
    both = [T for T in lengths if ("lstm", T) in table and ("peephole", T) in table]
    measured = "solved fraction per T: " + "; ".join(
        f"T={int(T)}: " + ", ".join(f"{c} {table[(c, T)]:.0%}" for c in ("gru", "lstm", "peephole")
                                     if (c, T) in table) for T in lengths) + "."
    if not both:
        return rows, measured, NOT_RUN, "needs lstm and peephole runs of the timing task at the same T"
    solved = {(c, T): table[(c, T)] >= 0.5 for c in ("lstm", "peephole") for T in both}
    needed = [T for T in both if solved[("peephole", T)] and not solved[("lstm", T)]]
    learned = [T for T in both if solved[("lstm", T)]]
    if needed:
        return rows, measured, NOT_REPRODUCED, (f"only the peephole lstm learned T = "
                                                f"{', '.join(str(int(T)) for T in needed)}: here measuring "
                                                "needed the peepholes.")
    if not learned:
        return rows, measured, NOT_REPRODUCED, "neither lstm learned any length: undecided at this budget."
    return rows, measured, REPRODUCED, (f"the plain lstm learned every length the peephole lstm did "
                                        f"(T = {', '.join(str(int(T)) for T in learned)}).")


def decide_indrnn(f, runs, a):
    """Li et al. 2018 Fig. 2: IndRNN learns the adding problem at lengths where the LSTM stays on the
    baseline. Decided at the lengths both cells ran: reproduced where IndRNN solves (>= half its seeds) some T
    the LSTM does not and every T the LSTM does; partly where it solves some the LSTM does not but misses one
    the LSTM solves; not reproduced where no shared length separates them that way."""
    fin = final_by_run(a, runs)
    r = runs.set_index("run_id")[["cell", "seq_len"]].assign(solved=_solved(a, runs)["solved"],
                                                               mse=fin["test_loss"])
    rows, table = [], {}
    for (cell, T), g in r.groupby(["cell", "seq_len"]):
        T = int(T)
        table[(cell, T)] = (float(g["solved"].astype(float).mean()), _median(g["mse"]), len(g))
        rows += [_row(f, "solved fraction", cell, table[(cell, T)][0], len(g), seq_len=T),
                 _row(f, "final test MSE (median over seeds)", cell, table[(cell, T)][1], len(g), seq_len=T)]
    lengths = sorted({T for _, T in table})
    measured = "per T, solved seeds and final test MSE (median; baseline 0.167): " + "; ".join(
        f"T={T}: " + ", ".join(f"{c} {round(table[(c, T)][0] * table[(c, T)][2])}/{table[(c, T)][2]} "
                               f"{_g(table[(c, T)][1])}" for c in ("indrnn", "lstm") if (c, T) in table)
        for T in lengths) + f"; {int(runs['steps'].max()):,} steps at most."
    both = [T for T in lengths if ("indrnn", T) in table and ("lstm", T) in table]
    if not both:
        return rows, measured, NOT_RUN, "needs indrnn and lstm runs at the same T"
    solves = {(c, T): table[(c, T)][0] >= 0.5 for c in ("indrnn", "lstm") for T in both}
    beyond = [T for T in both if solves[("indrnn", T)] and not solves[("lstm", T)]]
    behind = [T for T in both if solves[("lstm", T)] and not solves[("indrnn", T)]]
    if beyond and not behind:
        verdict, why = REPRODUCED, (f"IndRNN solved T = {_lengths(beyond)}, where the lstm did not, and "
                                    f"every length the lstm solved")
    elif beyond:
        verdict, why = PARTLY, (f"IndRNN solved T = {_lengths(beyond)}, where the lstm did not, but not "
                                f"T = {_lengths(behind)}, where the lstm did")
    elif all(solves[("lstm", T)] for T in both):
        verdict, why = NOT_REPRODUCED, (f"the lstm solved every shared length (T = {_lengths(both)}): no "
                                        "length separates them at this budget")
    else:
        verdict, why = NOT_REPRODUCED, (f"IndRNN did not solve T = "
                                        f"{_lengths(T for T in both if not solves[('lstm', T)])} either, "
                                        "where the lstm failed")
    ind = runs[runs["cell"] == "indrnn"]
    diverged = ind[ind["status"] == "diverged"]
    if len(diverged):
        # the paper's code keeps |w_hh| <= 2^(1/T) through training; without it relu units can grow unbounded
        at = diverged["steps_done"].astype(int)
        why += (f"; {len(diverged)} of {len(ind)} IndRNN runs diverged (at step {at.min():,}-{at.max():,}): "
                "rnnbench does not clip the recurrent weights to 2^(1/T) during training as the paper's code "
                "does")
    return rows, measured, verdict, why + "."


def _lengths(values):
    return ", ".join(str(T) for T in values)


def _verdict(first, second):
    return REPRODUCED if first and second else PARTLY if first or second else NOT_REPRODUCED


def _frac_text(frac, runs, cell):
    n = int((runs["cell"] == cell).sum())
    return f"{int(round((frac or 0) * n))}/{n} solved"


def _ratio(first, last):
    first, last = float(first), float(last)
    return first / last if last > 0 and np.isfinite(first) and np.isfinite(last) else math.nan


def _geomean(values):
    v = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce").dropna(), dtype=float)
    if v.size == 0:
        return math.nan
    return 0.0 if (v == 0).any() else float(np.exp(np.mean(np.log(v))))


# ---------------------------------------------------------------- the findings

ARJOVSKY = "Arjovsky, Shah & Bengio 2016"
FIG2 = {  # T -> (what Fig. 2 shows, read off it; step where its LSTM leaves the baseline)
    100: ("LSTM below the 0.167 baseline after ~1,000 steps and at MSE ~0.01 by ~4,000; the tanh RNN on the "
          "baseline for all 30,000 steps (read off Fig. 2).", 1000),
    200: ("LSTM leaves the baseline at ~6,000 steps, rests near 0.09, reaches ~0.01 by ~20,000; the tanh RNN "
          "on the baseline for 36,000 steps (read off Fig. 2).", 6000),
    400: ("LSTM leaves the baseline at ~8,000 steps and reaches ~0.02 by ~15,000; the tanh RNN on the "
          "baseline for 36,000 steps (read off Fig. 2).", 8000),
    750: ("LSTM leaves the baseline at ~19,000 steps and stays near MSE 0.09 to 100,000 ('does not reach "
          "close to 0', Sec. 4.2); the tanh RNN never beats the baseline (Sec. 4.2).", 19000),
}
FIG1 = {  # T -> what Fig. 1 shows
    100: "LSTM creeps below the memoryless baseline (0.173): cross-entropy ~0.145 after 1,000,000 examples "
         "(read off Fig. 1); the tanh RNN on the baseline; neither solves it ('the LSTM is able to beat the "
         "baseline only for 100 time steps').",
}


def _fig1(T):
    return FIG1.get(T, f"LSTM and tanh RNN get almost exactly the memoryless baseline (10 ln 8 / {T + 20} = "
                       f"{10 * math.log(8) / (T + 20):.3f}) for all 1,000,000 training examples (Fig. 1, "
                       f"Sec. 4.1).")


FINDINGS = [
    *[Finding(f"arjovsky-adding-T{T}", ARJOVSKY, f"Fig. 2, T={T}",
              "adding; RMSProp lr 1e-3, batch 20, clip 1, H=128 (the paper's)", FIG2[T][0],
              {"task": "adding", "adding_variant": "arjovsky", "seq_len": T, **PAPER, **PLAIN},
              decide_adding, "papers_adding_paper", {"leaves_baseline": FIG2[T][1]})
      for T in (100, 200, 400, 750)],
    *[Finding(f"default-adding-T{T}", ARJOVSKY, f"Fig. 2, T={T}",
              "adding; rnnbench's default: Adam lr 1e-3, batch 50, clip norm 1, H=128", FIG2[T][0],
              {"task": "adding", "adding_variant": "arjovsky", "seq_len": T, **DEFAULT, **PLAIN},
              decide_adding, "papers_adding_default", {"leaves_baseline": FIG2[T][1]})
      for T in (100, 200, 400, 750)],
    *[Finding(f"arjovsky-copy-T{T}", ARJOVSKY, f"Fig. 1, T={T}",
              "copy; RMSProp lr 1e-3, batch 20, clip 1; H=80 (rnn), 40 (lstm) (the paper's)", _fig1(T),
              {"task": "copy", "seq_len": T, **PAPER, **PLAIN}, decide_copy, "papers_copy",
              {"lstm_beats": T == 100}) for T in (100, 200, 300, 500)],
    Finding("arjovsky-gradnorm-init", ARJOVSKY, "Fig. 4 (i)",
            "adding T=1000, H=128, at initialization (probed in float64)",
            "‖dC/dh_t‖ vanishes exponentially for every model but the uRNN: the tanh RNN's falls from ~1e-2 "
            "at t=1000 to ~1e-14 at t=0 (ratio ~1e-12), the LSTM's below 1e-24 before t≈450 (read off "
            "Fig. 4).",
            {"task": "adding", "seq_len": 1000, **PAPER, **PLAIN}, decide_gradnorm, "papers_gradnorm",
            {"step": 0}),
    Finding("arjovsky-gradnorm-100", ARJOVSKY, "Fig. 4 (ii)",
            "adding T=1000, H=128, after 100 RMSProp steps (float32 training, probed in float64)",
            "After 100 iterations every model but the uRNN still vanishes: the LSTM's curve falls below "
            "1e-24 before t≈560, the tanh RNN's before t≈700 (read off Fig. 4).",
            {"task": "adding", "seq_len": 1000, "steps": 100, **PAPER, **PLAIN}, decide_gradnorm,
            "papers_gradnorm", {"step": 100}),
    Finding("arjovsky-clipping", ARJOVSKY, "Sec. 4",
            "adding T=100, the paper's settings, clipped at 1 and not",
            "'For the LSTM and RNN models, we had to clip gradients at 1 to avoid exploding gradients.' (no "
            "numbers)", {"task": "adding", "seq_len": 100, "cell": ["rnn", "lstm"],
                         **{k: v for k, v in PAPER.items() if k not in ("clip_mode", "clip")}, **PLAIN},
            decide_clipping, "papers_clipping"),
    Finding("arjovsky-irnn", ARJOVSKY, "Sec. 4",
            "adding T=100, IRNN (relu, identity init), RMSProp lr 1e-3, clipped at 1 and not",
            "'We found the IRNN to be particularly unstable; it only ran without blowing up with incredibly "
            "low learning rates and gradient clipping.' (no numbers)",
            {"task": "adding", "seq_len": 100, **IRNN,
             **{k: v for k, v in PAPER.items() if k not in ("clip_mode", "clip")}}, decide_irnn,
            "papers_clipping"),
    Finding("hochreiter-adding-T100", "Hochreiter & Schmidhuber 1997", "Table 7, T=100",
            "their adding variant, lengths 100-110; rnnbench's cells and training (the full suite: Adam, "
            "batch 50, H=128), not their 93-weight net trained online at learning rate 0.5",
            "LSTM meets the stopping criterion (training error < 0.01, the last 2,000 sequences within 0.04) "
            "after 74,000 training sequences (mean of 10 trials), then 1 of 2,560 test sequences wrong; "
            "never more than 3 (Sec. 5.4).",
            {"task": "adding", "adding_variant": "hochreiter", "seq_len": 100, **PLAIN}, decide_hochreiter,
            "papers_hochreiter"),
    Finding("gers-timing", "Gers, Schraudolph & Schmidhuber 2002", "MSD experiments; abstract",
            "timing (two spikes d <= T/2 steps apart, d read at the end), lstm against peephole (and gru); "
            "the full suite: T = 20, 50, 100, Adam, H=64",
            "LSTM with peepholes learns to tell spikes 49 from 50 steps apart (abstract); measuring a delay "
            "(MSD) does not need the peepholes, plain LSTM learns it too; generating timed spikes (GTS) does "
            "(qualitative: no numbers transcribed here).",
            {"task": "timing", "cell": ["gru", "lstm", "peephole"]}, decide_timing, "papers_timing"),
    Finding("li-indrnn", "Li, Li, Cook, Zhu & Gao 2018", "Sec. 4.1, Fig. 2",
            "adding, rnnbench's default (Adam lr 1e-3, batch 50, clip norm 1, H=128, the lstm's runs of "
            "default_adding_*.toml); IndRNN relu, 2 layers, w_hh ~ U(0, 2^(1/T)), not the paper's Adam lr "
            "2e-4 for tens of thousands of steps",
            "A two-layer relu IndRNN (128 units) learns the adding problem at T = 100, 500, 1000 and 5000 "
            "(Sec. 4.1); the LSTM learns T = 100 and 500 and stays at the baseline MSE (~0.167) at T = 1000 "
            "(Sec. 4.1). Read off Fig. 2: IndRNN's test MSE falls to near 0 at every T, the LSTM's at "
            "T = 1000 stays flat on the baseline (test MSE against training steps; no step counts "
            "transcribed).",
            {"task": "adding", "adding_variant": "arjovsky", "cell": ["indrnn", "lstm"], **DEFAULT},
            decide_indrnn, "papers_indrnn"),
]


def evaluate(a):
    """(findings table, numbers table): one row per finding with its verdict, and the measured numbers in long
    form (finding, quantity, cell, seq_len, value, seeds)."""
    rows, numbers = [], []
    for f in FINDINGS:
        runs = select(a.runs, f.select)
        if runs.empty:
            measured, verdict, why = "not run in this store", NOT_RUN, "no runs in this setting"
        else:
            nums, measured, verdict, why = f.decide(f, runs, a)
            numbers += nums
        rows.append({"finding": f.key, "paper": f.paper, "where": f.where, "setting": f.setting,
                     "paper reports": f.reports, "measured here": measured, "verdict": verdict, "why": why,
                     "figure": f.figure if not runs.empty else None})
    return (pd.DataFrame(rows),
            pd.DataFrame(numbers, columns=["finding", "quantity", "cell", "seq_len", "value", "seeds"]))

