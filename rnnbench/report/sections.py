"""The report's eight sections, assembled from aggregate.Aggregates: which figures and tables go where, and
what each section says when the store has no data for it."""
from rnnbench.report import claims, figures, papers, tables, walltime
from rnnbench.report.aggregate import SOLVED_RULES, VARIANT_RULES
from rnnbench.report.paper_figures import paper_figures
from rnnbench.report.render import Section


def build_sections(a):
    """Aggregates -> [Section]; every section is present, with a note where this store has nothing for it."""
    return [_gradients(a), _learning(a), _solved(a), _forecasting(a), _speed(a), _claims(a), _papers(a),
            _wall_time(a)]


def _or_note(section, note):
    if not section.items:
        section.items.append(note)
    return section


def _gradients(a):
    s = Section("1. Gradient norm over time",
                "The norm of the total derivative of the loss with respect to the hidden state, ‖dL/dh_t‖, "
                "at each time step t, measured on a fixed probe batch (the figure of Arjovsky, Shah & Bengio "
                "2016). With the loss at the last step, a vanilla tanh RNN's curve falls exponentially as t "
                "moves away from T; dashed lines are ‖dL/dc_t‖ through the LSTMs' cell state.")
    s.items += figures.gradnorm_figures(a.gradcurves)
    if not a.decay.empty:
        s.items.append(tables.gradient_decay(a.decay))
    return _or_note(s, "No gradient-norm rows in this store.")


def _learning(a):
    s = Section("2. Learning curves",
                "Test loss during training per task and sequence length, one line per cell, with the task's "
                "trivial baseline (a model that ignores its input) dashed.")
    s.items += figures.learning_curve_figures(a.curves)
    if not a.clipping.empty:
        s.items.append(tables.clipping(a.clipping))
    return _or_note(s, "No training runs with evaluations in this store.")


def _solved(a):
    rules = "; ".join(f"{task}: {rule[3]}" for task, rule in [*SOLVED_RULES.items(), *VARIANT_RULES.items()])
    s = Section("3. Solved table",
                f"Which cell learns which sequence length. Solved means, at the run's last evaluation: "
                f"{rules}. A run that diverged did not solve its task; a run stopped once solved ends on its "
                "solving evaluations.")
    s.items += tables.solved(a.solved, SOLVED_RULES)
    return _or_note(s, "No runs of a task with a solved criterion (adding, copy, timing) in this store.")


def _forecasting(a):
    s = Section("4. Forecasting",
                "Normalized RMSE (RMSE divided by the target's standard deviation) one step and several "
                "steps ahead, next to persistence, the forecast that repeats the last observed value.")
    s.items += figures.forecast_figures(a.forecast)
    if not a.forecast.empty:
        s.items.append(tables.forecast(a.forecast))
    return _or_note(s, "No forecasting runs in this store.")


ISA_KEYS = ("isa", "vector_bits", "cpu_name")     # rnnbench.kernels.cpu.isa.describe(), in the bench JSON


def _speed(a):
    s = Section("5. Speed",
                "Timings from `rnnbench bench`: rnnbench's backends against PyTorch and JAX on the same "
                "shapes, threads and dtype, measured interleaved in one run, as ratios rnnbench time / "
                "framework time (below 1: rnnbench is faster): one recurrent layer forward and "
                "forward+backward, and one optimizer step of the adding model (train-step, against PyTorch); "
                "plus the training throughput the runs saw and the parameter count of each cell.")
    if a.speed.empty:
        s.items.append("Speed was not measured in this run (no `rnnbench bench` JSON next to the store).")
    else:
        meta = "; ".join(f"{k}: {v}" for k, v in a.bench_meta.items() if k not in ISA_KEYS)
        s.items.append(f"Machine: {meta}" if meta else "The bench JSON carries no machine metadata.")
        m = a.bench_meta
        s.items.append(f"CPU kernels compiled for {m['isa']} ({m['vector_bits']}-bit vectors, LLVM CPU "
                       f"{m['cpu_name']})." if all(k in m for k in ISA_KEYS) else
                       "The bench JSON does not say which vector ISA the CPU kernels compiled for.")
        s.items += figures.speed_figures(a.speed)
        s.items.append(tables.speed(a.speed))
    if not a.train_speed.empty:
        s.items.append(tables.training_speed(a.train_speed))
    hidden = sorted(set(int(h) for h in a.runs["hidden"].dropna())) if "hidden" in a.runs else []
    s.items.append(tables.param_counts(hidden or [128]))
    return s


def _claims(a):
    import pandas as pd

    rows = [{"claim": c.text, "verdict": verdict, "evidence": evidence, "shown in": c.section}
            for c, verdict, evidence in claims.evaluate(a)]
    data = pd.DataFrame(rows, columns=["claim", "verdict", "evidence", "shown in"])
    s = Section("6. Claims from the notes, measured",
                "Claims made in the notes this project grew from, each decided by a fixed test on this "
                "store's data. 'not supported' means the data disagrees; 'not tested' means this run has no "
                "data that can decide.")
    s.items.append(tables.Table("claims", "Claims and verdicts",
                                "The verdict each claim gets from the measurements above.", data, data))
    return s


def _papers(a):
    s = Section("7. The papers, reproduced",
                "Each published finding this harness can test, set beside what this store measured in the "
                "same setting: Arjovsky, Shah & Bengio 2016 (adding, copy, gradient norms, clipping), "
                "Hochreiter & Schmidhuber 1997 (adding), Gers, Schraudolph & Schmidhuber 2002 (timing with "
                "and without peepholes), Li, Li, Cook, Zhu & Gao 2018 (IndRNN against the LSTM on adding at "
                "long T). Where the paper has a figure, ours is drawn in its form below.")
    figs = paper_figures(a)
    findings, numbers = papers.evaluate(a)
    s.items.append(tables.papers(findings, {f.name: f.title for f in figs}))
    s.items += figs
    if not numbers.empty:
        s.items.append(tables.paper_numbers(numbers))
    return s


def _wall_time(a):
    s = Section("8. Wall time",
                "How long `rnnbench reproduce` took on this store, added up over the sessions it ran in, "
                "beside the estimate it printed before starting (from training steps it timed on this "
                "machine).")
    sessions = walltime.session_table(a.sessions)
    if sessions.empty:
        return _or_note(s, "This store was not filled by `rnnbench reproduce` (no reproduce.json): no wall "
                           "time to report.")
    s.items += [walltime.summary(sessions), tables.wall_time(sessions)]
    return s
