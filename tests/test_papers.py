"""The report's papers table ("The papers, reproduced") and solved table, recomputed independently with pandas
from a small store of real short runs, including runs in the papers' settings and a curve that ends early
(as a run stopped when solved leaves it)."""
import numpy as np
import pandas as pd
import pytest

from rnnbench import store
from rnnbench.report import paper_figures, papers, tables
from rnnbench.report.aggregate import aggregate

TINY = dict(hidden=4, steps=20, eval_every=5, gradnorm_every=10, test_size=32, backend="reference",
            checkpoint_every=0)
PAPER = dict(TINY, optimizer="rmsprop", lr=1e-3, batch=20, clip_mode="value", clip=1.0)
DEFAULT = dict(TINY, hidden=128)      # rnnbench's defaults otherwise (Adam lr 1e-3, batch 50, clip norm 1)


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("papers")
    for cell in ("rnn", "lstm"):
        for seed in (0, 1):
            store.execute(dict(PAPER, task="adding", seq_len=100, cell=cell, seed=seed), root)
            store.execute(dict(TINY, task="adding", adding_variant="hochreiter", seq_len=30, cell=cell,
                               seed=seed, batch=8), root)
        store.execute(dict(PAPER, task="adding", seq_len=100, cell=cell, clip_mode="none"), root)
        store.execute(dict(PAPER, task="adding", seq_len=1000, cell=cell, steps=0), root)
    # Li et al. 2018: IndRNN (2 layers) against the lstm at two shared lengths, and IndRNN alone at a third
    for seed in (0, 1):
        for T in (6, 8):
            store.execute(dict(DEFAULT, task="adding", seq_len=T, cell="lstm", seed=seed), root)
        for T in (6, 8, 10):
            store.execute(dict(DEFAULT, task="adding", seq_len=T, cell="indrnn", layers=2, seed=seed), root)
    return root


def _frames(root):
    runs = store.load_runs(root)
    return runs, store.load_metrics(root), store.load_gradnorms(root)


def _last(metrics):
    return metrics.sort_values("step").groupby("run_id").tail(1).set_index("run_id")


def test_papers_rows_equal_pandas_recomputation(small_store):
    runs, metrics, gradnorms = _frames(small_store)
    findings, numbers = papers.evaluate(aggregate(runs, metrics, gradnorms))
    # Arjovsky Fig. 2 at T=100 in the paper's settings: median over seeds of each cell's last test MSE
    t100 = runs[(runs["seq_len"] == 100) & (runs["optimizer"] == "rmsprop") & (runs["batch"] == 20)]
    sel = t100[t100["clip_mode"] == "value"]
    last = _last(metrics).join(sel.set_index("run_id")["cell"], how="inner")
    mse = last.groupby("cell")["test_loss"].median()
    got = numbers[(numbers["finding"] == "arjovsky-adding-T100")
                  & numbers["quantity"].str.startswith("final")]
    assert got.set_index("cell")["value"].to_dict() == pytest.approx(mse.to_dict(), rel=1e-12)
    solved = (last["test_loss"] < 0.01).groupby(last["cell"]).mean()
    got = numbers[(numbers["finding"] == "arjovsky-adding-T100") & (numbers["quantity"] == "solved fraction")]
    assert got.set_index("cell")["value"].to_dict() == solved.to_dict()
    lstm_beats, rnn_stays = mse["lstm"] < 0.75 / 6, mse["rnn"] >= 0.9 / 6
    expect = ("reproduced" if lstm_beats and rnn_stays else "partly" if lstm_beats or rnn_stays
              else "not reproduced")
    assert findings.set_index("finding").loc["arjovsky-adding-T100", "verdict"] == expect
    # Fig. 4 (i): ||dL/dh_0|| / ||dL/dh_T-1|| at step 0, T = 1000
    g = gradnorms.merge(runs[["run_id", "cell", "seq_len"]], on="run_id")
    g = g[(g["seq_len"] == 1000) & (g["step"] == 0) & (g["layer"] == 0)].sort_values("t")
    ratio = g.groupby("cell")["h_norm"].agg(lambda h: h.iloc[0] / h.iloc[-1])
    got = numbers[numbers["finding"] == "arjovsky-gradnorm-init"].set_index("cell")["value"]
    assert got.to_dict() == pytest.approx(ratio.to_dict(), rel=1e-12)
    # Sec. 4's clipping: each cell's peak pre-clip gradient norm, clipped (2 seeds, median) and not (seed 0)
    peak = metrics.groupby("run_id")["grad_norm"].max()
    t100 = t100.assign(peak=t100["run_id"].map(peak), off=t100["clip_mode"] == "none")
    expect = t100.groupby(["cell", "off"])["peak"].median()
    got = numbers[numbers["finding"] == "arjovsky-clipping"].set_index(["cell", "quantity"])["value"]
    for cell in ("rnn", "lstm"):
        assert got[(cell, "peak gradient norm, clipped (median)")] == pytest.approx(expect[(cell, False)])
        assert got[(cell, "peak gradient norm, not clipped (median)")] == pytest.approx(expect[(cell, True)])
    # the report's clipping table pairs exactly these runs, which differ in clipping alone
    clip = aggregate(runs, metrics, gradnorms).clipping
    assert sorted(clip["runs"]) == [1, 1, 2, 2] and set(clip["seq_len"]) == {100}
    # settings this store never ran say so
    f = findings.set_index("finding")
    assert f.loc["arjovsky-copy-T500", "verdict"] == "not run"
    assert set(f["verdict"]) <= {"reproduced", "partly", "not reproduced", "not run"}


def test_solved_table_with_variant_rule_and_a_curve_that_ends_early(small_store):
    runs, metrics, gradnorms = _frames(small_store)
    # one paper-settings lstm run ends after step 10, as a run stopped when solved leaves its metrics
    paper = runs[(runs["cell"] == "lstm") & (runs["seq_len"] == 100) & (runs["clip_mode"] == "value")]
    rid, other = paper.sort_values("seed")["run_id"].iloc[[1, 0]]
    metrics = metrics[(metrics["run_id"] != rid) | (metrics["step"] <= 10)]
    a = aggregate(runs, metrics, gradnorms)
    # solved table, recomputed: last evaluation against the task's rule, the hochreiter variant's own rule
    last = _last(metrics).join(runs.set_index("run_id")[["task", "seq_len", "cell", "adding_variant"]])
    hoch = last["adding_variant"] == "hochreiter"
    last["solved"] = np.where(hoch, last["accuracy"] >= 2557 / 2560, last["test_loss"] < 0.01)
    expect = last.groupby(["seq_len", "cell"])["solved"].mean()
    got = pd.concat(t.data for t in tables.solved(a.solved, {"adding": (0, 0, 0, "")}))
    got = got.assign(cell=got["arm"].str.split(" ").str[0]).groupby(["seq_len", "cell"])["solved_frac"].sum()
    assert got.sort_index().to_dict() == expect.sort_index().to_dict()
    assert a.solved_runs.set_index("run_id").loc[rid, "stopped_early"]
    # learning curves: past step 10 the stopped seed holds its last value in the mean over seeds
    arm = a.runs.set_index("run_id").loc[rid, "arm"]
    c = a.curves[(a.curves["arm"] == arm) & (a.curves["seq_len"] == 100)].set_index("step")
    m = metrics.set_index(["run_id", "step"])["test_loss"]
    held = m[(rid, 10)]
    for step in (15, 20):
        assert c.loc[step, "mean"] == pytest.approx((m[(other, step)] + held) / 2, rel=1e-12)
        assert c.loc[step, "seeds"] == 2 and c.loc[step, "held"] == 1
    assert c.loc[10, "stops"] == 1 and c.loc[5, "held"] == 0


def test_indrnn_row_equals_pandas_recomputation(small_store):
    runs, metrics, gradnorms = _frames(small_store)
    a = aggregate(runs, metrics, gradnorms)
    findings, numbers = papers.evaluate(a)
    # Li et al. Fig. 2: per cell and T, the solved fraction and the median final test MSE of the default-setup
    # indrnn and lstm runs (not the paper-settings or hochreiter lstm runs of the same store)
    sel = runs[runs["cell"].isin(["indrnn", "lstm"]) & (runs["optimizer"] == "adam") & (runs["batch"] == 50)
               & (runs["hidden"] == 128) & (runs["adding_variant"] == "arjovsky")]
    last = _last(metrics).join(sel.set_index("run_id")[["cell", "seq_len"]], how="inner")
    last["solved"] = last["test_loss"] < 0.01
    per = last.groupby(["cell", "seq_len"]).agg(mse=("test_loss", "median"), frac=("solved", "mean"),
                                                n=("solved", "size"))
    assert len(sel) == 10 and (per["n"] == 2).all()
    got = numbers[numbers["finding"] == "li-indrnn"]
    for quantity, column in (("final test MSE (median over seeds)", "mse"), ("solved fraction", "frac")):
        g = got[got["quantity"] == quantity]
        assert {(c, int(T)): v for c, T, v in zip(g["cell"], g["seq_len"], g["value"])} == \
            pytest.approx(per[column].to_dict(), rel=1e-12)
    # the verdict at the lengths both cells ran (6, 8; indrnn alone at 10 does not count)
    ok = per["frac"] >= 0.5
    beyond = [T for T in (6, 8) if ok[("indrnn", T)] and not ok[("lstm", T)]]
    behind = [T for T in (6, 8) if ok[("lstm", T)] and not ok[("indrnn", T)]]
    expect = "reproduced" if beyond and not behind else "partly" if beyond else "not reproduced"
    row = findings.set_index("finding").loc["li-indrnn"]
    assert row["verdict"] == expect and row["figure"] == "papers_indrnn"
    assert "lstm" not in row["measured here"].split("T=10: indrnn ")[1]      # no lstm ran at T=10
    # its figure draws one panel per length IndRNN ran
    (fig,) = paper_figures.indrnn_figure(a)
    assert fig.name == "papers_indrnn" and sum(ax.get_visible() for ax in fig.fig.axes) == 3
