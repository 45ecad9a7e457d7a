"""`rnnbench reproduce`: the built-in suites load and validate, and the command runs a suite through the
sweep machinery into a store, benches into it and writes its report (here a tiny stand-in suite and bench)."""
from rnnbench.cli import main
from rnnbench.commands import reproduce


def test_builtin_suites_are_valid_and_the_quick_one_is_small():
    quick, full = reproduce.suite_configs("quick"), reproduce.suite_configs("full")
    assert {c["cell"] for c in quick} >= {"rnn", "lstm"} and max(c["seq_len"] for c in quick) >= 100
    assert {c["task"] for c in full} == {"adding", "copy", "timing", "forecasting"}
    assert {750, 100, 200} <= {c["seq_len"] for c in full if c["task"] == "adding"}
    assert reproduce.expected_seconds(quick, 2) < reproduce.expected_seconds(full, 2)


def test_reproduce_runs_a_suite_and_reports(tmp_path, monkeypatch, capsys):
    (tmp_path / "tiny.toml").write_text(
        'task = "adding"\ncell = ["rnn", "lstm"]\nseq_len = 6\nhidden = 4\nbatch = 8\nsteps = 10\n'
        'eval_every = 5\ngradnorm_every = 5\ntest_size = 16\nbackend = "reference"\n')
    monkeypatch.setattr(reproduce, "SWEEPS", tmp_path)
    monkeypatch.setitem(reproduce.SUITES, "quick", ["tiny.toml"])
    monkeypatch.setitem(reproduce.BENCH_ARGS, "quick", ["--cells", "rnn", "--shapes", "3,2,2,4", "--repeats", "1"])
    out = tmp_path / "rep"
    assert main(["reproduce", "--quick", "--workers", "1", "--store", str(tmp_path / "runs"),
                 "--out", str(out)]) == 0
    assert "expected time" in capsys.readouterr().out
    md = (out / "report.md").read_text()
    assert "2 done" in md and "gradnorm_adding_T6.png" in md
    assert (tmp_path / "runs" / "bench.json").is_file() and "speed.png" in md


def test_bad_workers_is_exit_2(tmp_path, capsys):
    assert main(["reproduce", "--workers", "0", "--store", str(tmp_path / "r")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
