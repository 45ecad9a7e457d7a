"""Sweep files: grid expansion against its written definition, and every kind of malformed file (a grid over
the size cap included) exiting with code 2 and one line naming the file, the key and the problem before any
run starts."""
import itertools

import pytest

from rnnbench import cli
from rnnbench.config import normalize
from rnnbench.errors import InputError
from rnnbench.sweep import load_sweep


def _write(tmp_path, text):
    path = tmp_path / "grid.toml"
    path.write_text(text)
    return path


def test_lists_become_axes_in_file_order(tmp_path):
    path = _write(tmp_path, 'cell = ["rnn", "lstm"]\nseq_len = [10, 20, 30]\nseed = [0, 1]\nhidden = 4\n'
                            '[sweep]\nname = "demo"\ndescription = "cells x lengths x seeds"\n')
    expected = [normalize({"cell": c, "seq_len": t, "seed": s, "hidden": 4})
                for c, t, s in itertools.product(["rnn", "lstm"], [10, 20, 30], [0, 1])]
    assert load_sweep(path) == expected


def test_a_file_of_scalars_is_one_run_and_duplicates_collapse(tmp_path):
    assert load_sweep(_write(tmp_path, "hidden = 4\n")) == [normalize({"hidden": 4})]
    # momentum does not apply to adam, so both values of the axis are the same run
    path = _write(tmp_path, 'optimizer = ["adam", "sgd"]\nlr = [0.1, 0.1]\n')
    assert load_sweep(path) == [normalize({"optimizer": "adam", "lr": 0.1}),
                                normalize({"optimizer": "sgd", "lr": 0.1})]


@pytest.mark.parametrize("text, words", [
    ('cell = ["rnn", "lstm"\nhidden = 4\n', ["TOML syntax error", "Unclosed array (at line 2"]),
    ('hiden = 4\n', ["unknown config key 'hiden'"]),
    ('hidden = 4\n[sweep]\nname = "x"\ncell = "lstm"\n', ["unknown key 'sweep.cell'"]),
    ('seq_len = []\nhidden = 4\n', ["key 'seq_len'", "empty axis"]),
    ('[sweep]\nname = "nothing"\n', ["empty grid"]),
    ('', ["empty grid"]),
    ('hidden = [4, -1, 8]\n', ["key 'hidden', axis value -1", "must be >= 1"]),
    ('cell = ["lstm", "lsmt"]\n', ["key 'cell', axis value 'lsmt'", "unknown value 'lsmt'"]),
    ('lr = ["fast"]\n', ["key 'lr'", "must be a number"]),
    ('cell = ["rnn", "lstm"]\nnonlinearity = ["tanh", "relu"]\n',
     ["'nonlinearity'", "in the run cell='lstm', nonlinearity='relu'"]),
    ('sweep = 3\n', ["key 'sweep' must be a table"]),
    # a bad scalar after an axis is named as itself, not as the axis
    ('cell = ["rnn", "lstm"]\nhidden = -1\n', ["key 'hidden': config key 'hidden' must be >= 1"]),
    ('cell = ["lstm", "rnn"]\nnonlinearity = "relu"\n',
     ["key 'nonlinearity': ", "applies to the rnn and indrnn cells only"]),
    ('hidden = 4\n[sweep]\nname = 3\n', ["key 'sweep.name' must be"]),
    ('hidden = 4\n[sweep]\nname = "<b>x</b>"\n', ["key 'sweep.name' must be"]),
    ('hidden = 4\n[sweep]\nname = ""\n', ["key 'sweep.name' must be"]),
    ('hidden = 4\n[sweep]\ndescription = ["a"]\n', ["key 'sweep.description' must be a string"]),
    # 1000 x 1000 runs: refused by the count, before anything is expanded
    (f'seed = {list(range(1000))}\nlr = {[0.001 * (i + 1) for i in range(1000)]}\n',
     ["the grid has 1000000 runs, more than the limit of 100000 (--max-runs raises it)"]),
])
def test_malformed_files_exit_2_naming_file_key_and_problem(tmp_path, capsys, text, words):
    path = _write(tmp_path, text)
    with pytest.raises(InputError):
        load_sweep(path)
    assert cli.main(["sweep", str(path), "--store", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"rnnbench: error: {path}: ")
    for word in words:
        assert word in err
    assert not (tmp_path / "runs").exists()          # nothing ran, nothing was created


def test_missing_file_and_bad_workers_exit_2(tmp_path, capsys):
    assert cli.main(["sweep", str(tmp_path / "none.toml"), "--store", str(tmp_path)]) == 2
    assert "none.toml: no such sweep file" in capsys.readouterr().err
    path = _write(tmp_path, "hidden = 4\n")
    assert cli.main(["sweep", str(path), "--store", str(tmp_path / "runs"), "--workers", "0"]) == 2
    assert "--workers must be >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["adding", "copy", "timing", "forecasting"])
def test_shipped_sweeps_load_by_name_with_one_run_per_grid_point(name):
    import tomllib

    from rnnbench.sweep import EXAMPLES

    data = tomllib.loads((EXAMPLES / f"{name}.toml").read_text())
    points = 1
    for value in data.values():
        points *= len(value) if isinstance(value, list) else 1
    configs = load_sweep(name)
    assert len(configs) == points > 1 and all(c["task"] == data["task"] for c in configs)


def test_max_runs_raises_or_lowers_the_cap(tmp_path, capsys):
    path = _write(tmp_path, 'cell = ["rnn", "gru", "lstm"]\nseed = [0, 1]\nhidden = 4\n')
    with pytest.raises(InputError, match="the grid has 6 runs, more than the limit of 5"):
        load_sweep(path, max_runs=5)
    assert len(load_sweep(path, max_runs=6)) == 6
    runs = str(tmp_path / "runs")
    assert cli.main(["sweep", str(path), "--store", runs, "--dry-run", "--max-runs", "5"]) == 2
    assert "more than the limit of 5" in capsys.readouterr().err
    assert cli.main(["sweep", str(path), "--store", runs, "--dry-run", "--max-runs", "6"]) == 0
    assert capsys.readouterr().out.count(" missing\n") == 6
