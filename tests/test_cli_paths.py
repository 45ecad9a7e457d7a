"""Every --out and --store of every command is checked before any work: a path of the wrong kind, one that
cannot be written, a missing folder or an empty string is one line on stderr and exit 2, with nothing
computed and nothing written. Also the CLI's smaller promises: --workers and --scheduler exclude each
other for every value, and a failed run's error goes to stderr."""
import io
import json
import os
import pickle

import pytest

from rnnbench import checkpoint, cli, store
from rnnbench.commands import reproduce
from rnnbench.config import normalize

TINY = {"seq_len": 4, "hidden": 3, "batch": 4, "test_size": 8, "steps": 6, "eval_every": 3,
        "gradnorm_every": 3, "backend": "reference"}
TRAIN = ["train", "--no-progress", *[f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]]
BENCH = ["bench", "--backends", "reference", "--against", "none", "--cells", "rnn", "--shapes", "2,1,1,2",
         "--repeats", "1", "--threads", "1"]
GRADNORM = ["gradnorm", "--cells", "rnn", "--seq-len", "4", "--hidden", "3", "--batch", "2",
            "--backend", "reference"]
needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")


@pytest.fixture
def here(tmp_path, monkeypatch):
    """tmp_path as the working directory, with a file, a folder and a sweep file in it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "adir").mkdir()
    (tmp_path / "grid.toml").write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in TINY.items()))
    (tmp_path / "bad-bench.json").write_text(json.dumps({"rows": [{"cell": "lstm"}]}))
    (tmp_path / "list-bench.json").write_text(json.dumps({"rows": [1, 2]}))
    return tmp_path


def _entries(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


CASES = [
    (TRAIN + ["--out", "/proc/x"], "cannot create files in"),
    (TRAIN + ["--out", "afile"], "exists and is not a directory"),
    (TRAIN + ["--out", "afile/runs"], "/afile' is not a directory"),
    (TRAIN + ["--out", ""], "--out is empty"),
    (["sweep", "grid.toml", "--store", "afile"], "exists and is not a directory"),
    (["sweep", "grid.toml", "--store", "afile", "--dry-run"], "exists and is not a directory"),
    (["sweep", "grid.toml", "--store", "/proc/x"], "cannot create files in"),
    (["sweep", "adir", "--store", "runs"], "is a directory, not a sweep file"),
    (["runs", "--store", "afile"], "is not a directory"),
    (["report", "--store", "adir", "--out", "/proc/x"], "cannot create files in"),
    (["report", "--store", "adir", "--out", "afile"], "exists and is not a directory"),
    (["report", "--store", "adir", "--out", "r", "--bench", "bad-bench.json"], "row 0 has no 'backend'"),
    (["report", "--store", "adir", "--out", "r", "--bench", "list-bench.json"],
     "row 0 is not an object (int)"),
    (BENCH + ["--out", "/proc/x"], "cannot create files in"),
    (BENCH + ["--out", "afile"], "exists and is not a directory"),
    (GRADNORM + ["--out", "/proc/x.csv"], "cannot create files in"),
    (GRADNORM + ["--out", "adir"], "is a directory"),
    (GRADNORM + ["--out", "nowhere/g.csv"], "does not exist"),
]


@needs_proc
@pytest.mark.parametrize("argv, words", CASES, ids=[" ".join(a[:1] + a[-2:]) for a, _ in CASES])
def test_bad_paths_are_one_line_before_any_work(here, capsys, argv, words):
    before = _entries(here)
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("rnnbench: error: ") and words in err, err
    assert _entries(here) == before


@needs_proc
@pytest.mark.parametrize("flag, value, words", [("--store", "afile", "exists and is not a directory"),
                                                ("--out", "/proc/x", "cannot create files in"),
                                                ("--out", "adir/../grid.toml",
                                                 "exists and is not a directory")])
def test_reproduce_checks_its_paths_before_its_sweep_and_bench(here, capsys, monkeypatch, flag, value, words):
    monkeypatch.setattr(reproduce, "SWEEPS", here)
    monkeypatch.setitem(reproduce.SUITES, "quick", ["grid.toml"])
    monkeypatch.setitem(reproduce.BENCH_ARGS, "quick", BENCH[1:])
    paths = {"--store": "runs", "--out": "report", flag: value}
    before = _entries(here)
    assert cli.main(["reproduce", "--quick", "--workers", "1", *[x for kv in paths.items() for x in kv]]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and words in err
    assert _entries(here) == before          # no run, no bench.json, no report


@pytest.mark.parametrize("workers", [1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                     else 2])
def test_workers_and_scheduler_exclude_each_other_for_every_value(here, capsys, workers):
    argv = ["sweep", "grid.toml", "--store", "runs", "--workers", str(workers), "--scheduler", "tcp://127.0.0.1:9"]
    assert cli.main(argv) == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize("argv, line", [
    (["bench", "--repeats", "abc"], "bench: argument --repeats: invalid int value: 'abc'"),
    (["train", "--config", "x"], "unrecognized arguments: --config x"),
    (["frobnicate"], "argument COMMAND: invalid choice: 'frobnicate'"),
])
def test_argument_errors_name_the_command_once(argv, line, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rnnbench: error: {line}") and err.count("\n") == 1 and err.count("rnnbench") == 1


def test_a_failed_runs_error_goes_to_stderr_and_its_retry_starts_afresh(here, capsys):
    config = normalize(TINY)
    run_dir = here / "runs" / store.run_id(config)
    run_dir.mkdir(parents=True)
    # a checkpoint that decodes (in this version's format, and as earlier versions' pickle) but that
    # training cannot resume from
    f = io.BytesIO()
    checkpoint.dump({"not": "a training state"}, f, run_dir.name)
    (run_dir / "checkpoint.npz").write_bytes(f.getvalue())
    (run_dir / "checkpoint.pkl").write_bytes(pickle.dumps({"not": "a training state"}))
    assert cli.main(TRAIN + ["--out", "runs"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and f"run {run_dir.name}: failed" in err and "KeyError: 'params'" in err
    assert cli.main(TRAIN + ["--out", "runs"]) == 0
    assert "done at step 6" in capsys.readouterr().out
    assert store.read_status(run_dir)["resumed_from"] is None
