"""Claims from the notes this project grew from, each with the test that decides it from the measured data.

The notes (explainers of LSTM gates, peepholes, GRU vs LSTM and gradient clipping) make claims a harness
can check. Each Claim below restates one in our own words, names the report section that shows the
evidence, and decides it from aggregate.Aggregates: "supported", "not supported" (the data disagrees) or
"not tested" (this run has no data that can decide it, and what would).
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np

from rnnbench.report.tables import fmt

SUPPORTED, NOT_SUPPORTED, NOT_TESTED = "supported", "not supported", "not tested"


@dataclass(frozen=True)
class Claim:
    text: str                  # the claim, as the notes make it
    section: str               # where the report shows the evidence
    decide: Callable           # Aggregates -> (verdict, one-sentence evidence)


def _cell(arm):
    return arm.split(" ")[0]


def _split_arms(frame):
    """frame with `cell` and `setting` (the arm label past the cell) taken from its arm label: rows of equal
    setting differ only in the cell."""
    return frame.assign(cell=frame["arm"].map(_cell), setting=frame["arm"].map(lambda a: a.partition(" ")[2]))


def _matched(frame, cells, value):
    """frame's `value` pivoted to one column per cell in `cells`, one row per (task, seq_len, setting, when):
    runs that differ only in the cell."""
    f = _split_arms(frame)
    f = f[f["cell"].isin(cells)]
    index = [c for c in ("task", "seq_len", "setting", "when") if c in f.columns]
    p = f.pivot_table(index=index, columns="cell", values=value)
    return p.reindex(columns=list(cells)).dropna()


def _vanishing(a):
    p = _matched(a.decay, ("rnn", "lstm"), "first_over_last")
    if p.empty:
        return NOT_TESTED, "needs gradient-norm curves of rnn and lstm in the same setting"
    # a ratio of 0 means float underflow in both cells: it cannot tell them apart
    p = p[(p["rnn"] > 0) & (p["lstm"] > 0)]
    if p.empty:
        return NOT_SUPPORTED, ("wherever both were measured the gradient reaching t=0 underflowed to 0 for "
                               "lstm as well as rnn, so the data shows no difference.")
    # the longest length, after training where measured
    p = p.reset_index().assign(trained=lambda f: f["when"] == "trained").sort_values(["seq_len", "trained"])
    task, T, when, lstm, rnn = p.iloc[-1][["task", "seq_len", "when", "lstm", "rnn"]]
    gap = lstm / rnn
    verdict = SUPPORTED if gap >= 100 else NOT_SUPPORTED
    moment = "after training" if when == "trained" else "at initialization"
    return verdict, (f"on {task} at T={int(T)} {moment}, ‖dL/dh_0‖/‖dL/dh_T-1‖ is {fmt(lstm)} for lstm "
                     f"and {fmt(rnn)} for rnn: {fmt(gap)}× more gradient reaches the first step "
                     f"({'at least' if verdict == SUPPORTED else 'less than'} the 100× this test asks).")


def _solved_frac(a, cell):
    s = a.solved[a.solved["arm"].map(_cell) == cell]
    return s.groupby(["task", "seq_len"])["solved_frac"].max()


def _long_memory(a):
    lstm, rnn = _solved_frac(a, "lstm"), _solved_frac(a, "rnn")
    common = lstm.index.intersection(rnn.index)
    if common.empty:
        return NOT_TESTED, "needs rnn and lstm runs on the same memory task and length"
    wins = [k for k in common if lstm[k] >= 0.5 and rnn[k] == 0]
    losses = [k for k in common if rnn[k] > lstm[k]]
    if wins and not losses:
        task, T = max(wins, key=lambda k: k[1])
        return SUPPORTED, (f"lstm solved {task} at T={int(T)} in {lstm[(task, T)]:.0%} of seeds, the vanilla "
                           f"RNN in none.")
    return NOT_SUPPORTED, (f"lstm solved where the vanilla RNN failed at {len(wins)} of {len(common)} "
                           f"task/length pairs, and the RNN did better at {len(losses)}.")


def _gru_comparable(a):
    lstm, gru = _solved_frac(a, "lstm"), _solved_frac(a, "gru")
    common = lstm.index.intersection(gru.index)
    if common.empty:
        return NOT_TESTED, "needs gru and lstm runs on the same memory task and length"
    differ = [k for k in common if (lstm[k] >= 0.5) != (gru[k] >= 0.5)]
    if not differ:
        return SUPPORTED, (f"gru and lstm solved the same {len(common)} task/length pairs (by majority of "
                           f"seeds).")
    shown = ", ".join(f"{t} T={int(T)}: lstm {fmt(lstm[(t, T)])}, gru {fmt(gru[(t, T)])}" for t, T in differ)
    return NOT_SUPPORTED, f"they differ at {shown} (fraction of seeds solved)."


def _faster(fast, slow):
    """Decide 'cell `fast` runs faster than cell `slow`' from bench timings, else training throughput."""
    def decide(a):
        keys = ["backend", "against", "pass", "T", "B", "I", "H", "dtype", "threads"]
        s = a.speed
        if not s.empty:
            k = [c for c in keys if c in s.columns]
            p = s[s["cell"] == fast].merge(s[s["cell"] == slow], on=k, suffixes=("_f", "_s"))
            if len(p):
                wins = int((p["time_s_f"] < p["time_s_s"]).sum())
                ratio = float(np.median(p["time_s_s"] / p["time_s_f"]))
                return (SUPPORTED if wins > len(p) / 2 else NOT_SUPPORTED,
                        f"{fast} was faster than {slow} in {wins} of {len(p)} matched kernel timings "
                        f"(median {fmt(ratio)}× the speed).")
        t = a.train_speed
        if not t.empty:
            # match settings that differ only in the cell
            t = _split_arms(t)
            k = [c for c in ("task", "seq_len", "backend", "hidden", "setting") if c in t.columns]
            p = t[t["cell"] == fast].merge(t[t["cell"] == slow], on=k, suffixes=("_f", "_s"))
            if len(p):
                wins = int((p["steps_per_s_f"] > p["steps_per_s_s"]).sum())
                ratio = float(np.median(p["steps_per_s_f"] / p["steps_per_s_s"]))
                return (SUPPORTED if wins > len(p) / 2 else NOT_SUPPORTED,
                        f"{fast} trained faster than {slow} in {wins} of {len(p)} matched settings "
                        f"(median {fmt(ratio)}× the steps/s; no kernel timings in this run).")
        return NOT_TESTED, f"needs timings of {fast} and {slow} on the same shapes"
    return decide


def _more_parameters(a):
    from rnnbench.report.tables import param_counts
    hidden = sorted(set(int(h) for h in a.runs.get("hidden", []) if np.isfinite(h))) or [128]
    p = param_counts(hidden).data.set_index(["cell", "H"])["parameters"]
    ok = all(p[("lstm", h)] > p[("gru", h)] > p[("rnn", h)] for h in hidden)
    h = hidden[-1]
    return (SUPPORTED if ok else NOT_SUPPORTED,
            f"at H={h} a layer has {p[('lstm', h)]} parameters for lstm, {p[('gru', h)]} for gru and "
            f"{p[('rnn', h)]} for rnn (4 : 3 : 1 gate blocks).")


def _peepholes_timing(a):
    s = a.solved[(a.solved["task"] == "timing") & a.solved["arm"].map(_cell).isin(["lstm", "peephole"])]
    c = a.curves[(a.curves["task"] == "timing") & a.curves["arm"].map(_cell).isin(["lstm", "peephole"])]
    if c.empty or set(c["arm"].map(_cell)) != {"lstm", "peephole"}:
        return NOT_TESTED, "needs lstm and peephole runs on the timing task"
    last = c.sort_values("step").groupby(["seq_len", "arm"]).tail(1)
    loss = last.assign(cell=last["arm"].map(_cell)).pivot_table(index="seq_len", columns="cell",
                                                                values="mean")
    loss = loss.dropna()
    better = int((loss["peephole"] < 0.9 * loss["lstm"]).sum())
    frac = s.assign(cell=s["arm"].map(_cell)).pivot_table(index="seq_len", columns="cell",
                                                          values="solved_frac")
    solved_more = int((frac.get("peephole", 0) > frac.get("lstm", 0)).sum()) if not frac.empty else 0
    verdict = SUPPORTED if better > len(loss) / 2 or solved_more > 0 else NOT_SUPPORTED
    return verdict, (f"peephole's final test loss was at least 10% below lstm's at {better} of {len(loss)} "
                     f"lengths, and it solved more seeds than lstm at {solved_more} of {len(frac)}.")


def _clipping(a):
    c = a.clipping
    if c.empty:
        return NOT_TESTED, "needs runs that differ only in gradient clipping"
    rows = []      # per group of runs differing only in clipping: (setting, unclipped, clipped diverged)
    for (task, T, pair), p in c.groupby(["task", "seq_len", "pair"]):
        off = p[p["clip_mode"].astype(str) == "none"]["diverged_frac"].max()
        on = p[p["clip_mode"].astype(str) != "none"]["diverged_frac"].max()
        rows.append((f"{task} T={int(T)} {pair}", off, on))
    if all(off == 0 for _, off, _ in rows):
        return NOT_TESTED, "no unclipped run diverged here, so there was no exploding gradient to tame."
    exploding = [(name, off, on) for name, off, on in rows if off > 0]
    missed = [name for name, off, on in exploding if not on < off]
    verdict = SUPPORTED if not missed and all(on <= off for _, off, on in rows) else NOT_SUPPORTED
    clipped = sum(on for *_, on in rows) / len(rows)
    return verdict, (f"in {len(exploding)} of {len(rows)} settings unclipped runs diverged (a fraction "
                     f"{fmt(sum(o for _, o, _ in exploding) / len(exploding))} of them on average); clipping "
                     f"lowered that in {len(exploding) - len(missed)} of those {len(exploding)}"
                     + (f" (not in: {'; '.join(missed)})" if missed else "")
                     + f"; over all {len(rows)} settings a fraction {fmt(clipped)} of the clipped runs "
                     f"diverged.")


def _forecasting(a):
    f = a.forecast[a.forecast["arm"].map(_cell) == "lstm"]
    if f.empty:
        return NOT_TESTED, "needs lstm runs on a forecasting task"
    beats = int((f["nrmse_1"] < f["persistence_1"]).sum())
    return (SUPPORTED if beats == len(f) else NOT_SUPPORTED,
            f"lstm's one-step NRMSE beat persistence in {beats} of {len(f)} forecasting settings.")


CLAIMS = [
    Claim("LSTM solves the vanishing gradient problem: its gating lets the gradient flow back over many time "
          "steps where a vanilla RNN's shrinks away.", "1. Gradient norm over time", _vanishing),
    Claim("LSTMs capture long-term dependencies that traditional RNNs cannot learn.", "3. Solved table",
          _long_memory),
    Claim("Neither GRU nor LSTM is universally superior: the GRU performs comparably.", "3. Solved table",
          _gru_comparable),
    Claim("GRUs are computationally faster than LSTMs (two gates instead of three).", "5. Speed",
          _faster("gru", "lstm")),
    Claim("LSTMs are slower to train and run than simpler RNN architectures.", "5. Speed",
          _faster("rnn", "lstm")),
    Claim("LSTMs have more parameters than GRUs and simple RNNs.", "5. Speed (parameters per layer)",
          _more_parameters),
    Claim("Peephole connections, which let the gates see the cell state, help with precise timing.",
          "2. Learning curves and 3. Solved table (timing task)", _peepholes_timing),
    Claim("Gradient clipping keeps exploding gradients from derailing training.",
          "2. Learning curves (clipping table)", _clipping),
    Claim("LSTMs are well suited to time-series forecasting.", "4. Forecasting", _forecasting),
]


def evaluate(aggregates):
    """[(claim, verdict, evidence)] for every claim."""
    return [(c, *c.decide(aggregates)) for c in CLAIMS]
