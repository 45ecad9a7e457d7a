"""`rnnbench reproduce`: the built-in suites load and validate, the time estimate's arithmetic on a measured
calibration, and the command running a suite through the sweep machinery into a store, benching into it,
recording its session and writing its report (here a tiny stand-in suite and bench)."""
import json

import pandas as pd
import pytest

from rnnbench.cli import main
from rnnbench.commands import reproduce
from rnnbench.config import DEFAULTS, normalize

# the full suite's sweep files use the training loop's stop_when_solved / solve_patience keys
needs_stop_keys = pytest.mark.skipif("stop_when_solved" not in DEFAULTS,
                                     reason="the full suite needs the config keys stop_when_solved, "
                                            "solve_patience")


def test_quick_suite_is_valid_and_covers_every_claim():
    quick = reproduce.suite_configs("quick")
    assert ({c["cell"] for c in quick} >= {"rnn", "lstm", "gru", "peephole"}
            and max(c["seq_len"] for c in quick) >= 100)
    assert {c["task"] for c in quick} == {"adding", "timing", "forecasting"}
    assert {c["clip_mode"] for c in quick if c["seq_len"] == 40} == {"norm", "none"}


@needs_stop_keys
def test_full_suite_is_valid_and_has_the_papers_grid():
    full = reproduce.suite_configs("full")
    paper = [c for c in full if c["optimizer"] == "rmsprop" and c["batch"] == 20]
    assert {(c["task"], c["seq_len"]) for c in paper} >= \
        {("adding", T) for T in (100, 200, 400, 750, 1000)} | {("copy", T) for T in (100, 200, 300, 500)}
    assert {c["cell"] for c in paper} == {"rnn", "gru", "lstm", "peephole"}
    # seeds: at least 2 per setting, except the paper-settings runs (the paper reports one run per setting)
    runs = pd.DataFrame(full).astype(str)
    seeds = runs.groupby([k for k in runs.columns if k != "seed"])["seed"].nunique().reset_index()
    assert (seeds[~((seeds["optimizer"] == "rmsprop") & (seeds["batch"] == "20"))]["seed"] >= 2).all()


def test_estimate_arithmetic_on_a_measured_calibration():
    tiny = dict(task="adding", seq_len=6, hidden=4, batch=8, test_size=16, backend="reference")
    a = normalize(dict(tiny, cell="lstm", steps=30, eval_every=10, gradnorm_every=15))   # 4 rows, 3 probes
    b = normalize(dict(tiny, cell="lstm", steps=7, eval_every=5, gradnorm_every=7,
                       seed=1))                                                          # 3 rows, 2 probes
    c = normalize(dict(tiny, cell="rnn", steps=10, eval_every=10, gradnorm_every=10))    # 2 rows, 2 probes
    cals, others = reproduce.calibrate_all([a, b, c])
    assert len(cals) == 2     # a and b differ only in what a calibration does not depend on
    assert others is None or others >= 0
    la, lc = cals[reproduce.shape_key(a)], cals[reproduce.shape_key(c)]
    assert la.step_s > 0 and la.eval_s > 0 and lc.step_s > 0
    ta = 30 * la.step_s + 4 * la.eval_s + 3 * la.step_s
    tb = 7 * la.step_s + 3 * la.eval_s + 2 * la.step_s
    tc = 10 * lc.step_s + 2 * lc.eval_s + 2 * lc.step_s
    assert [reproduce.run_seconds(x, cals[reproduce.shape_key(x)]) for x in (a, b, c)] == \
        pytest.approx([ta, tb, tc])
    order = reproduce.longest_first([c, b, a], cals)
    assert [reproduce.run_seconds(x, cals[reproduce.shape_key(x)]) for x in order] == \
        sorted([ta, tb, tc], reverse=True)
    # two workers, each starting after WORKER_START_S, each taking the next run when free
    start = reproduce.WORKER_START_S
    free = [start, start]
    for t in sorted([ta, tb, tc], reverse=True):
        free[free.index(min(free))] += t
    assert reproduce.expected_seconds(order, 2, cals) == pytest.approx(max(free))
    assert reproduce.expected_seconds(order, 1, cals) == pytest.approx(start + ta + tb + tc)
    # beside 4 other running processes, 2 workers on 2 cores get a third of a core each: runs take 3x as long
    share = reproduce.cpu_share(2, 4, 2)
    assert share == pytest.approx(1 / 3) and reproduce.cpu_share(2, 0, 2) == reproduce.cpu_share(1, 1, 2) == 1
    assert reproduce.expected_seconds(order, 1, cals, share) == pytest.approx(start + 3 * (ta + tb + tc))


def test_reproduce_runs_a_suite_records_its_session_and_reports(tmp_path, monkeypatch, capsys):
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "a.toml").write_text(
        'task = "adding"\ncell = ["rnn", "lstm"]\nseq_len = 6\nhidden = 4\nbatch = 8\nsteps = 10\n'
        'eval_every = 5\ngradnorm_every = 5\ntest_size = 16\nbackend = "reference"\n')
    monkeypatch.setattr(reproduce, "SWEEPS", tmp_path)
    monkeypatch.setitem(reproduce.SUITES, "quick", "tiny")
    monkeypatch.setitem(reproduce.BENCH_ARGS, "quick", ["--cells", "rnn", "--shapes", "3,2,2,4", "--repeats",
                                                        "1", "--train-shape", "4,2,3"])
    out = tmp_path / "rep"
    assert main(["reproduce", "--quick", "--workers", "1", "--store", str(tmp_path / "runs"),
                 "--out", str(out)]) == 0
    assert "expected time" in capsys.readouterr().out
    md = (out / "report.md").read_text()
    assert "2 done" in md and "gradnorm_adding_T6.png" in md
    assert (tmp_path / "runs" / "bench.json").is_file() and "speed.png" in md
    # the session reproduce recorded, and the report's wall-time table recomputed from it
    (session,) = json.loads((tmp_path / "runs" / "reproduce.json").read_text())["sessions"]
    assert session["runs_to_run"] == 2 and session["finished"] >= session["started"]
    table = pd.read_csv(out / "tables" / "wall_time.csv")
    assert table["estimate_s"].iloc[0] == pytest.approx(session["estimate_s"])
    assert table["measured_s"].iloc[0] == pytest.approx(session["sweep_s"] + session["bench_s"])
    assert "## 8. Wall time" in md


def test_bad_workers_is_exit_2(tmp_path, capsys):
    assert main(["reproduce", "--workers", "0", "--store", str(tmp_path / "r")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_killed_sessions_end_survives_losing_the_stores_file_times(tmp_path):
    import os

    from rnnbench import store
    from rnnbench.report.walltime import close_sessions, load_sessions, session_table

    root = tmp_path / "s"
    tiny = {"task": "adding", "seq_len": 6, "hidden": 4, "batch": 8, "steps": 2, "eval_every": 1,
            "test_size": 8, "backend": "reference"}
    before = store.utc_now()
    paths = [root / store.run_id(normalize({**tiny, "seed": s})) for s in (0, 1)]
    for s in (0, 1):
        store.execute({**tiny, "seed": s}, root)
    new, old = (p / "status.json" for p in paths)
    assert before <= json.loads(new.read_text())["finished_at"] <= store.utc_now()
    # a run written at 00:05 (its finished_at), and one made before finished_at existed, at 00:07 (its mtime)
    new.write_text(json.dumps({**json.loads(new.read_text()), "finished_at": "2026-01-01T00:05:00+00:00"}))
    old.write_text(json.dumps({k: v for k, v in json.loads(old.read_text()).items() if k != "finished_at"}))
    t0 = pd.Timestamp("2026-01-01T00:00:00+00:00").timestamp()
    os.utime(new, (t0 + 900, t0 + 900))
    os.utime(old, (t0 + 420, t0 + 420))
    killed = {"started": "2026-01-01T00:00:00+00:00", "calibration_s": 20.0, "estimate_s": 400.0}
    (root / "reproduce.json").write_text(json.dumps({"sessions": close_sessions([killed], root)}))
    (closed,) = json.loads((root / "reproduce.json").read_text())["sessions"]
    assert closed["ended"] == "2026-01-01T00:07:00+00:00"
    # runs going: the two runs' [end - wall_time, end], apart
    walls = [json.loads(p.read_text())["wall_time"] for p in (new, old)]
    assert closed["busy_s"] == pytest.approx(sum(walls), abs=1e-4)
    os.utime(old, None)             # a copy or a checkout: every file written now
    table = session_table(load_sessions(root))
    assert table["measured_s"].iloc[0] == pytest.approx(420 - 20)
    assert table["busy_s"].iloc[0] == pytest.approx(sum(walls), abs=1e-4)


def test_the_bench_estimate_counts_only_the_comparators_installed(monkeypatch):
    import importlib.util

    # measured here (2026-12-07): `bench --quick` took 7 s alone, 22 s against torch, 40 s against both
    for against, measured in (([], 7.0), (["torch"], 22.0), (["torch", "jax"], 40.0)):
        assert reproduce.bench_seconds("quick", against) == pytest.approx(measured, rel=0.3)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    assert reproduce.comparators() == []
