"""The report built from a small store of real short runs: sections, figures, self-contained HTML, and table
numbers recomputed independently from the store with pandas."""
import json
import re
import struct

import numpy as np
import pandas as pd
import pytest

from rnnbench import store
from rnnbench.cli import main
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
    ratio = g.groupby("run_id").apply(lambda r: r.sort_values("t")["h_norm"].iloc[0] / r.sort_values("t")["h_norm"].iloc[-1])
    decay = pd.read_csv(report / "tables" / "gradient_decay.csv")
    row = decay[(decay["arm"] == "rnn") & (decay["when"] == "init")].iloc[0]
    # geometric mean over seeds of each t's norm, then the ratio: equals the geometric mean of the ratios
    assert row["first_over_last"] == pytest.approx(np.exp(np.log(ratio).mean()), rel=1e-9)


def test_empty_and_failed_stores_say_so(tmp_path):
    (tmp_path / "empty").mkdir()
    html = build_report(tmp_path / "empty", tmp_path / "r1").read_text()
    assert "no finished runs" in html
    bad = tmp_path / "bad"
    rid = store.execute(dict(TINY, task="adding", seq_len=6, cell="lstm", backend="cuda"), bad)
    if store.load_runs(bad)["status"].iloc[0] == "failed":
        html = build_report(bad, tmp_path / "r2").read_text()
        assert "failed; nothing was measured" in html, rid


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
