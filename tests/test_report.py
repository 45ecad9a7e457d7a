"""The report built from a small store of real short runs: sections, figures, self-contained HTML, table
numbers recomputed independently from the store with pandas; and its folder, which holds only a report and
is replaced whole: never the store, never someone else's files, never lost to a kill."""
import json
import os
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnbench import store
from rnnbench.cli import main
from rnnbench.config import normalize
from rnnbench.report import build_report

TINY = dict(hidden=4, batch=8, steps=20, eval_every=10, gradnorm_every=10, test_size=32, backend="reference",
            checkpoint_every=0)
SECTIONS = ["1. Gradient norm over time", "2. Learning curves", "3. Solved table", "4. Forecasting",
            "5. Speed", "6. Claims from the notes, measured"]


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for cell in ("rnn", "lstm"):
        for seed in (0, 1):
            store.execute(dict(TINY, task="adding", seq_len=6, cell=cell, seed=seed), root)
    store.execute(dict(TINY, task="forecasting", seq_len=8, cell="gru", horizon=2), root)
    return root


@pytest.fixture(scope="module")
def report(small_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "r"
    assert main(["report", "--store", str(small_store), "--out", str(out)]) == 0
    return out


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", data[16:24])


def test_every_section_and_figure(report):
    md = (report / "report.md").read_text()
    html = (report / "report.html").read_text()
    for title in SECTIONS:
        assert f"## {title}" in md and title in html
    figs = re.findall(r"\]\((figures/[^)]+\.png)\)", md)
    assert any("gradnorm_adding" in f for f in figs) and any("curves_adding" in f for f in figs)
    assert any("forecast_forecasting" in f for f in figs)
    for f in figs:
        w, h = _png_size(report / f)
        assert w > 100 and h > 100
        assert (report / f).with_suffix(".svg").read_text().lstrip().startswith("<?xml")
    # self-contained: every figure embedded, nothing fetched from anywhere
    assert html.count("src='data:image/png;base64,") == len(figs)
    assert not re.search(r"(src|href)=['\"](?!data:|#)", html)
    assert "http://" not in html and "https://" not in html


def test_solved_table_recomputed_from_store(small_store, report):
    runs = store.load_runs(small_store)
    m = store.load_metrics(small_store).merge(runs[["run_id", "task", "cell", "seq_len"]], on="run_id")
    last = m[m["task"] == "adding"].sort_values("step").groupby("run_id").tail(1)
    expect = last.assign(solved=last["test_loss"] < 0.01).groupby("cell")["solved"].mean()
    got = pd.read_csv(report / "tables" / "solved_adding.csv").set_index("arm")["solved_frac"]
    assert got.to_dict() == expect.to_dict()


def test_forecast_and_gradient_tables_recomputed(small_store, report):
    m = store.load_metrics(small_store)
    runs = store.load_runs(small_store)
    rid = runs[runs["task"] == "forecasting"]["run_id"].iloc[0]
    last = m[m["run_id"] == rid].sort_values("step").iloc[-1]
    got = pd.read_csv(report / "tables" / "forecast.csv").iloc[0]
    for c in ("nrmse_1", "persistence_1", "nrmse_multi", "persistence_multi"):
        assert got[c] == pytest.approx(last[c], rel=1e-12)
    g = store.load_gradnorms(small_store).merge(runs[["run_id", "cell", "task"]], on="run_id")
    g = g[(g["task"] == "adding") & (g["step"] == 0) & (g["layer"] == 0) & (g["cell"] == "rnn")]
    ratio = g.groupby("run_id").apply(lambda r: r.sort_values("t")["h_norm"].iloc[0]
                                      / r.sort_values("t")["h_norm"].iloc[-1])
    decay = pd.read_csv(report / "tables" / "gradient_decay.csv")
    row = decay[(decay["arm"] == "rnn") & (decay["when"] == "init")].iloc[0]
    # geometric mean over seeds of each t's norm, then the ratio: equals the geometric mean of the ratios
    assert row["first_over_last"] == pytest.approx(np.exp(np.log(ratio).mean()), rel=1e-9)


def test_empty_and_failed_stores_say_so(tmp_path):
    (tmp_path / "empty").mkdir()
    html = build_report(tmp_path / "empty", tmp_path / "r1").read_text()
    assert "no finished runs" in html
    bad = tmp_path / "bad"
    assert store.record_failure(dict(TINY, task="adding", seq_len=6, cell="lstm"), bad,
                                "MemoryError: out of memory")
    html = build_report(bad, tmp_path / "r2").read_text()
    assert "failed; nothing was measured" in html and "MemoryError: out of memory" in html


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["report", "--store", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope" in err[0]
    assert not (tmp_path / "o").exists()


def test_bench_without_comparator_still_shows_its_timings(small_store, tmp_path):
    # what `reproduce` writes where PyTorch is not installed: rnnbench times, nothing to compare them with
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"meta": {"cpu": "test"}, "rows": [
        {"cell": c, "backend": "cpu", "against": "none", "pass": "forward", "T": 5, "B": 2, "I": 2, "H": 4,
         "dtype": "float32", "threads": 1, "time_s": t, "against_time_s": None, "ratio": None, "gflops": 1.0,
         "repeats": 1, "flop": 10, "max_rel_diff": None}
        for c, t in (("rnn", 0.001), ("lstm", 0.003))]}))
    md = (build_report(small_store, tmp_path / "r", bench_path=bench).parent / "report.md").read_text()
    assert "Speed was not measured" not in md and "Kernel timings" in md
    got = pd.read_csv(tmp_path / "r" / "tables" / "speed.csv")
    assert sorted(got["time_s"]) == [0.001, 0.003] and got["torch_ratio"].isna().all()


# ---------------------------------------------------------------- the report folder

ROOT = Path(__file__).resolve().parents[1]


def _tree(path):
    return {str(p.relative_to(path)): p.read_bytes() if p.is_file() else None
            for p in sorted(path.rglob("*"))}


def test_the_store_and_folders_above_it_are_refused(tmp_path, capsys):
    st = tmp_path / "proj" / "st"
    st.mkdir(parents=True)
    for out in (st, tmp_path / "proj", tmp_path):
        assert main(["report", "--store", str(st), "--out", str(out)]) == 2
        assert "is the run store or holds it" in capsys.readouterr().err
    assert _tree(tmp_path) == {"proj": None, "proj/st": None}


def test_a_folder_of_other_files_is_refused_even_with_a_report_html(tmp_path, capsys):
    proj = tmp_path / "proj"
    (proj / "notes").mkdir(parents=True)
    (proj / "report.html").write_text("my own page")
    (proj / "notes" / "thesis.tex").write_text("years of work")
    (tmp_path / "st").mkdir()
    before = _tree(proj)
    assert main(["report", "--store", str(tmp_path / "st"), "--out", str(proj)]) == 2
    assert "which rnnbench report did not write" in capsys.readouterr().err
    assert _tree(proj) == before


def test_an_earlier_report_is_replaced_but_not_once_someone_adds_a_file(report, small_store, tmp_path,
                                                                         capsys):
    out = tmp_path / "r"
    old_umask = os.umask(0o022)
    try:
        assert main(["report", "--store", str(small_store), "--out", str(out)]) == 0
    finally:
        os.umask(old_umask)
    assert (stat.S_IMODE(out.stat().st_mode) == 0o755
            and stat.S_IMODE((out / "figures").stat().st_mode) == 0o755)
    from rnnbench.report.folder import MANIFEST

    listed = json.loads((out / MANIFEST).read_text())["files"]
    assert sorted(listed) == sorted(k for k, v in _tree(out).items() if v is not None and k != MANIFEST)
    (out / "tables" / "mine.csv").write_text("a,b\n")
    assert main(["report", "--store", str(small_store), "--out", str(out)]) == 2
    assert "holds 'tables/mine.csv'" in capsys.readouterr().err and (out / "tables" / "mine.csv").exists()


def test_a_killed_report_step_leaves_the_old_report_and_nothing_hidden(report, small_store, tmp_path):
    out = tmp_path / "r"
    shutil.copytree(report, out)
    old = _tree(out)
    proc = subprocess.Popen([sys.executable, "-m", "rnnbench", "report", "--store", str(small_store), "--out",
                             str(out)], env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def hidden():
        return [p for p in tmp_path.iterdir() if p.name.startswith(".r.")]

    deadline = time.monotonic() + 60
    while not hidden():
        assert proc.poll() is None and time.monotonic() < deadline, "the report step ended before the kill"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _tree(out) == old                    # the old report, whole
    assert main(["report", "--store", str(small_store), "--out", str(out)]) == 0
    assert hidden() == [] and (out / "report.html").exists()


def test_a_kill_between_two_renames_is_undone_by_the_next_report(report, tmp_path):
    # where renameat2 cannot exchange folders, the swap is two renames: a kill between them leaves the old
    # report renamed away, under a dead process's id, and no --out; the next report puts it back
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    out = tmp_path / "r"
    shutil.copytree(report, tmp_path / f".r.rnnbench-old-{dead}-0123abcd")
    (tmp_path / f".r.rnnbench-new-{dead}-4567abcd").mkdir()       # the half-built new one
    from rnnbench.report.folder import check_out

    assert check_out(out) == out
    assert _tree(out) == _tree(report) and sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_report_md_shows_html_from_the_store_as_text(tmp_path):
    # a store someone sent you: a failed run whose error is HTML
    config = normalize(dict(TINY, task="adding", seq_len=6, cell="lstm"))
    run_dir = tmp_path / "st" / store.run_id(config)
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(config))
    (run_dir / "status.json").write_text(json.dumps({"status": "failed", "error": "<script>alert(1)</script>",
                                                     "step": 3, "wall_time": 1.0}))
    md = (build_report(tmp_path / "st", tmp_path / "r").parent / "report.md").read_text()
    assert "&lt;script>alert(1)&lt;/script>" in md and "<script" not in md


def test_arm_labels_name_each_setting_by_the_fewest_keys():
    from rnnbench.report.aggregate import usable_runs
    base = {"task": "adding", "seq_len": 100, "status": "done", "nonlinearity": "tanh", "seed": 0}
    paper = {"optimizer": "rmsprop", "batch": 20, "steps": 10000, "lr": 1e-3}
    adam = {"optimizer": "adam", "batch": 50, "steps": 3000, "lr": 1e-3}
    rows = [{**base, **paper, "cell": c, "clip_mode": m} for c in ("rnn", "lstm") for m in ("value", "none")]
    rows += [{**base, **adam, "cell": c, "clip_mode": "norm"} for c in ("rnn", "lstm")]
    rows += [{**base, **adam, "cell": "lstm", "clip_mode": "norm", "seed": 1}]
    arms = usable_runs(pd.DataFrame(rows))["arm"].tolist()
    # optimizer, batch and steps move together: the optimizer names them; clip_mode tells the pairs apart
    paper_arms = [f"{c} optimizer=rmsprop clip_mode={m}" for c in ("rnn", "lstm") for m in ("value", "none")]
    adam_arms = [f"{c} optimizer=adam clip_mode=norm" for c in ("rnn", "lstm", "lstm")]
    assert arms == paper_arms + adam_arms


def test_the_vanishing_gradient_claim_compares_runs_that_differ_only_in_the_cell():
    from types import SimpleNamespace

    from rnnbench.report import claims
    rows = [("adding", 1000, "rnn", "init", 0.0), ("adding", 1000, "lstm", "init", 0.0),     # underflowed
            ("adding", 100, "rnn optimizer=adam", "trained", 1e-19),
            ("adding", 100, "lstm optimizer=adam", "trained", 1e-11),
            ("adding", 100, "lstm optimizer=rmsprop", "trained", 1e-30)]                   # no rnn beside it
    decay = pd.DataFrame(rows, columns=["task", "seq_len", "arm", "when", "first_over_last"])
    verdict, evidence = claims._vanishing(SimpleNamespace(decay=decay))
    assert verdict == claims.SUPPORTED and "T=100 after training" in evidence and "1e-11 for lstm" in evidence
    decay.loc[3, "first_over_last"] = 1e-18                # 10x: under the 100x the test asks
    assert claims._vanishing(SimpleNamespace(decay=decay))[0] == claims.NOT_SUPPORTED
    assert claims._vanishing(SimpleNamespace(decay=decay.iloc[:2]))[0] == claims.NOT_SUPPORTED   # all zeros
    assert claims._vanishing(SimpleNamespace(decay=decay.iloc[4:]))[0] == claims.NOT_TESTED
