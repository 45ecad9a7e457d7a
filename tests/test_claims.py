"""Fenced claims with real processes: a lock holder paused (SIGSTOP) past the stale timeout is taken over by a
second sweep, and on SIGCONT it stops without writing a byte. (Garbage locks, a folder or a bad pid, are
taken over in tests/test_damaged_runs.py.)"""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from conftest import wait_until
from rnnbench import store
from rnnbench.sweep import load_sweep

ROOT = Path(__file__).resolve().parents[1]
STALE_S = "2"       # RNNBENCH_STALE_S for these tests: the owner beats every 0.5 s
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "RNNBENCH_STALE_S": STALE_S}
TINY = {"task": "adding", "seq_len": 10, "hidden": 4, "batch": 8, "test_size": 16, "eval_every": 50,
        "gradnorm_every": 500, "backend": "reference", "checkpoint_every": 25}


def _write(tmp_path, name, **keys):
    path = tmp_path / name
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in {**TINY, **keys}.items()))
    return path


def _sweep(*args):
    return subprocess.Popen([sys.executable, "-m", "rnnbench", "sweep", *args, "--workers", "1"], env=ENV,
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _lock_pid(run_dir):
    try:
        return json.loads((run_dir / "lock").read_text())["pid"]
    except (FileNotFoundError, ValueError):
        return None


def _files(run_dir):
    """Every entry of the run directory: name -> (inode, mtime_ns, bytes)."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes() if p.is_file() else None)
            for p in run_dir.iterdir()}


def test_paused_holder_is_taken_over_and_then_writes_nothing(tmp_path):
    sweep = _write(tmp_path, "one.toml", cell="gru", steps=700)
    (config,) = load_sweep(sweep)
    runs = tmp_path / "runs"
    run_dir = runs / store.run_id(config)
    first = _sweep(str(sweep), "--store", str(runs))
    second = None
    try:
        wait_until(lambda: any(run_dir.glob("checkpoint.*")) and _lock_pid(run_dir), [first])
        holder = _lock_pid(run_dir)          # the worker process training the run
        os.kill(holder, signal.SIGSTOP)
        try:
            second = _sweep(str(sweep), "--store", str(runs))
            out, err2 = second.communicate(timeout=90)
            assert second.returncode == 0, err2
            assert "1 done, 0 diverged, 0 failed, 0 already finished" in err2
            after_takeover = _files(run_dir)
        finally:
            os.kill(holder, signal.SIGCONT)
        out, err1 = first.communicate(timeout=60)
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    # the paused holder found its claim gone, waited for the run and counted it as finished elsewhere
    assert first.returncode == 0, err1
    assert "0 done, 0 diverged, 0 failed, 1 already finished" in err1
    status = store.read_status(run_dir)
    assert status["status"] == "done" and status["step"] == 700 and status["resumed_from"] >= 25
    # after resuming, the first process wrote, replaced and removed nothing: every file is the taker's
    assert _files(run_dir) == after_takeover
    assert sorted(after_takeover) == sorted(store.RESULT_FILES)      # no lock, claim folder or temp file
    assert store.is_finished(run_dir)


def test_a_bad_stale_timeout_is_one_line(tmp_path, monkeypatch, capsys):
    from rnnbench import cli

    monkeypatch.setenv("RNNBENCH_STALE_S", "soon")
    argv = ["--steps", "1", "--backend", "reference", "--no-progress"]
    assert cli.main(["train", *argv, "--out", str(tmp_path / "runs")]) == 2
    assert capsys.readouterr().err == "rnnbench: error: RNNBENCH_STALE_S must be a positive number of " \
                                      "seconds, got 'soon'\n"
