"""`rnnbench runs`: the table of a store, its filters and its errors, checked against the runs' own files."""
import pytest

from rnnbench import cli, store
from rnnbench.config import normalize

TINY = {"seq_len": 4, "hidden": 3, "batch": 4, "test_size": 8, "steps": 6, "eval_every": 3,
        "gradnorm_every": 3, "backend": "reference"}
CONFIGS = [normalize({**TINY, "cell": cell, "seed": seed})
           for cell, seed in [("rnn", 0), ("lstm", 0), ("lstm", 1)]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for config in CONFIGS:
        store.execute(config, root)
    return root


def _table(capsys, *args):
    assert cli.main(["runs", *args]) == 0
    return capsys.readouterr().out.splitlines()


def test_table_shows_varying_keys_and_final_metrics(runs, capsys):
    header, *rows = _table(capsys, "--store", str(runs), "--csv")
    varying = [k for k in CONFIGS[0] if len({repr(c[k]) for c in CONFIGS}) > 1]
    assert header.split(",") == ["run_id", "status", "steps_done", "wall_time", *varying,
                                 "final_test_loss", "final_rel_loss", "final_accuracy"]
    metrics = store.load_metrics(runs)
    for row in rows:
        rid, status, steps, *_, test_loss, rel_loss, accuracy = row.split(",")
        last = metrics[metrics["run_id"] == rid].iloc[-1]
        assert (status, int(steps)) == ("done", 6) and float(test_loss) == pytest.approx(last["test_loss"])
    assert sorted(r.split(",")[0] for r in rows) == sorted(store.load_runs(runs)["run_id"])


def test_filters(runs, capsys):
    lstm = {store.run_id(normalize({**TINY, "cell": "lstm", "seed": s})) for s in (0, 1)}
    rows = _table(capsys, "--store", str(runs), "--csv", "--where", "cell=lstm", "--columns", "run_id")[1:]
    assert set(rows) == lstm
    rows = _table(capsys, "--store", str(runs), "--csv", "--where", "cell=lstm,rnn", "--where", "seed=1",
                  "--columns", "run_id,seed")[1:]
    assert rows == [f"{store.run_id(normalize({**TINY, 'cell': 'lstm', 'seed': 1}))},1"]
    assert _table(capsys, "--store", str(runs), "--status", "failed") == ["no runs"]


@pytest.mark.parametrize("args, message", [
    (["--where", "colour=red"], "--where colour: no such column"),
    (["--where", "seed=one"], "--where seed: seed is numeric"),
    (["--where", "seed"], "expected KEY=VALUE"),
    (["--columns", "run_id,nope"], "--columns: no column 'nope'"),
])
def test_bad_filters_exit_2(runs, capsys, args, message):
    assert cli.main(["runs", "--store", str(runs), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_missing_store_exits_2(tmp_path, capsys):
    assert cli.main(["runs", "--store", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err
