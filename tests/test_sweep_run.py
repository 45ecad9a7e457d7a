"""Sweeps as real processes: a SIGKILLed sweep finishes on rerun without redoing finished runs, a killed run
resumes from its checkpoint to the same numbers, two sweeps share a store, a Dask cluster (real scheduler
and workers on 127.0.0.1, one killed mid-sweep) gives the same runs as the local pool, and a local worker
killed mid-run costs only that run a retry."""
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import wait_until
from rnnbench import store
from rnnbench.sweep import load_sweep

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
# tiny runs on the NumPy reference backend: no JIT compile in each fresh worker process
TINY = {"task": "adding", "seq_len": 10, "hidden": 4, "batch": 8, "test_size": 16, "eval_every": 20,
        "gradnorm_every": 100, "backend": "reference", "checkpoint_every": 50}
TIMING_COLUMNS = ["wall_time", "steps_per_s"]


def _write(tmp_path, name, **keys):
    """A sweep file of TINY updated with keys (JSON scalars and lists are TOML too)."""
    path = tmp_path / name
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in {**TINY, **keys}.items()))
    return path


def _start(*args, **kwargs):
    # a session of its own, so killpg takes the sweep and its worker processes down together
    return subprocess.Popen([sys.executable, "-m", "rnnbench", *args], env=ENV, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _sweep(*args):
    proc = _start(*args)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return err


def _kill(proc):
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


RESULT_FILES = ["config.json", "gradnorms.parquet", "metrics.parquet", "status.json"]


def _finished(runs):
    """{run_id: {result file: (mtime_ns, bytes)}} of the finished runs in the store."""
    if not runs.exists():
        return {}
    return {d.name: {name: ((d / name).stat().st_mtime_ns, (d / name).read_bytes()) for name in RESULT_FILES}
            for d in runs.iterdir() if store.is_finished(d)}


def _assert_complete(runs, configs):
    """Every config is in the store exactly once, done, with every metrics row and nothing else left over."""
    ids = sorted(store.run_id(c) for c in configs)
    assert sorted(p.name for p in runs.iterdir()) == ids
    table = store.load_runs(runs)
    assert table["status"].tolist() == ["done"] * len(ids)
    metrics = store.load_metrics(runs)
    for config in configs:
        steps = metrics.loc[metrics["run_id"] == store.run_id(config), "step"].tolist()
        assert steps == sorted(set(steps)) and steps[-1] == config["steps"]
    for d in runs.iterdir():
        assert sorted(p.name for p in d.iterdir()) == RESULT_FILES


def _summary(err):
    """(done, skipped) from a sweep's last stderr line."""
    m = re.search(r"(\d+) done, \d+ diverged, 0 failed, (\d+) already finished", err)
    assert m, err
    return int(m[1]), int(m[2])


def _lock_pid(run_dir):
    try:
        return json.loads((run_dir / "lock").read_text())["pid"]
    except (FileNotFoundError, ValueError):
        return None


def _numbers(runs, run_id):
    return store.load_metrics(runs, [run_id]).drop(columns=TIMING_COLUMNS + ["run_id"], errors="ignore")


def test_sigkilled_sweep_finishes_on_rerun_without_redoing_finished_runs(tmp_path):
    sweep = _write(tmp_path, "grid.toml", cell=["rnn", "gru", "lstm", "peephole"], seed=[0, 1], steps=100)
    runs = tmp_path / "runs"
    args = ["sweep", str(sweep), "--store", str(runs), "--workers", "2"]
    proc = _start(*args)
    try:
        wait_until(lambda: len(_finished(runs)) >= 2, [proc])
    finally:
        _kill(proc)
    before = _finished(runs)
    assert 2 <= len(before) < 8
    assert any((d / "lock").exists() for d in runs.iterdir())     # killed with runs in flight

    done, skipped = _summary(_sweep(*args))
    assert done + skipped == 8 and skipped == len(before)
    _assert_complete(runs, load_sweep(sweep))
    after = _finished(runs)
    assert {rid: after[rid] for rid in before} == before          # finished runs were not rerun


def test_killed_run_resumes_from_its_checkpoint_to_the_same_numbers(tmp_path):
    sweep = _write(tmp_path, "one.toml", backend="cpu", cell="lstm", steps=1000, checkpoint_every=100,
                   eval_every=100, gradnorm_every=1000)
    (config,) = load_sweep(sweep)
    rid = store.run_id(config)
    killed, fresh = tmp_path / "killed", tmp_path / "fresh"
    proc = _start("sweep", str(sweep), "--store", str(killed), "--workers", "1")
    try:
        wait_until(lambda: (killed / rid / "checkpoint.npz").exists(), [proc])
    finally:
        _kill(proc)
    assert not (killed / rid / "status.json").exists()
    _sweep("sweep", str(sweep), "--store", str(killed), "--workers", "1")
    status = store.read_status(killed / rid)
    assert status["status"] == "done" and 100 <= status["resumed_from"] < 1000

    store.execute(config, fresh)                                   # the same run, never interrupted
    assert store.read_status(fresh / rid)["resumed_from"] is None
    pd.testing.assert_frame_equal(_numbers(killed, rid), _numbers(fresh, rid), check_exact=True)
    pd.testing.assert_frame_equal(store.load_gradnorms(killed), store.load_gradnorms(fresh), check_exact=True)


def test_two_sweeps_on_one_store_run_each_run_once(tmp_path):
    sweep = _write(tmp_path, "grid.toml", cell=["rnn", "gru", "lstm", "peephole"], seed=[0, 1], steps=100)
    runs = tmp_path / "runs"
    procs = [_start("sweep", str(sweep), "--store", str(runs), "--workers", "1") for _ in range(2)]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    (done_a, skipped_a), (done_b, skipped_b) = map(_summary, errs)
    assert done_a + done_b == 8 and done_a + skipped_a == done_b + skipped_b == 8
    _assert_complete(runs, load_sweep(sweep))


# ---------------------------------------------------------------- Dask

def _dask(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_" + args[0], *args[1:]], env=ENV,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=kwargs.get("cwd"))


def _address(scheduler_file):
    try:
        return json.loads(scheduler_file.read_text())["address"]
    except (FileNotFoundError, ValueError, KeyError):
        return None


@pytest.fixture
def cluster(tmp_path):
    """A dask scheduler and two single-thread workers on 127.0.0.1 at free ports -> (address, workers)."""
    pytest.importorskip("distributed")
    info = tmp_path / "scheduler.json"
    procs = [_dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                   "--scheduler-file", str(info), cwd=tmp_path)]
    try:
        wait_until(lambda: _address(info), procs)
        address = _address(info)
        workers = [_dask("worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                         "--host", "127.0.0.1", cwd=tmp_path) for _ in range(2)]
        procs += workers
        from distributed import Client
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def test_dask_sweeps_survive_a_lost_worker_and_match_local_runs(tmp_path, cluster):
    address, workers = cluster
    runs = tmp_path / "runs"
    first = _write(tmp_path, "first.toml", cell=["rnn", "lstm"], seed=[0, 1], steps=100)
    assert _summary(_sweep("sweep", str(first), "--store", str(runs), "--scheduler", address)) == (4, 0)

    second = _write(tmp_path, "second.toml", cell=["gru", "peephole"], seed=[0, 1, 2], steps=200)
    proc = _start("sweep", str(second), "--store", str(runs), "--scheduler", address)
    try:
        # once a run of this sweep has finished, kill a worker in the middle of another run
        pids = {w.pid: w for w in workers}

        def running():
            return [pid for pid in map(_lock_pid, runs.iterdir()) if pid in pids]

        wait_until(lambda: len(_finished(runs)) >= 5 and running(), [proc, *workers])
        victim = pids[running()[0]]
        victim.kill()
        victim.wait()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            _kill(proc)
    assert proc.returncode == 0, err
    done, skipped = _summary(err)
    # the lost worker's run is rerun elsewhere, or found finished if it died just after writing it
    assert done + skipped == 6 and skipped <= 1
    configs = load_sweep(first) + load_sweep(second)
    _assert_complete(runs, configs)

    local = tmp_path / "local"
    rid = store.execute(configs[0], local)                   # same config in this process
    pd.testing.assert_frame_equal(_numbers(runs, rid), _numbers(local, rid), check_exact=True)


# ---------------------------------------------------------------- a lost local worker

def test_a_killed_worker_loses_only_its_run(tmp_path):
    sweep = _write(tmp_path, "grid.toml", cell=["gru", "lstm"], seed=[0, 1], steps=150)
    runs = tmp_path / "runs"
    proc = _start("sweep", str(sweep), "--store", str(runs), "--workers", "2")
    try:
        def held():
            return {d.name: pid for d in runs.iterdir() if (pid := _lock_pid(d))} if runs.exists() else {}

        wait_until(lambda: len(held()) == 2, [proc])      # both workers are running a run
        (victim_run, victim), (other_run, _) = sorted(held().items())
        os.kill(victim, signal.SIGKILL)                     # as the OOM killer would
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            _kill(proc)
    assert proc.returncode == 0, err
    assert _summary(err) == (4, 0) and f"run {victim_run}: its worker process (pid {victim})" in err
    _assert_complete(runs, load_sweep(sweep))
    # the other worker's run went on undisturbed: it finished in one go, never resumed
    assert store.read_status(runs / other_run)["resumed_from"] is None


def test_a_run_whose_worker_always_dies_is_failed_and_the_hint_lists_it(tmp_path):
    sweep = _write(tmp_path, "one.toml", cell="lstm", steps=100000)
    (config,) = load_sweep(sweep)
    runs = tmp_path / "runs"
    run_dir = runs / store.run_id(config)
    proc = _start("sweep", str(sweep), "--store", str(runs), "--workers", "1")
    killed = set()
    try:
        for _ in range(3):                # the first try and both retries
            wait_until(lambda: _lock_pid(run_dir) not in killed | {None}, [proc])
            killed.add(_lock_pid(run_dir))
            os.kill(_lock_pid(run_dir), signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            _kill(proc)
    assert proc.returncode == 1 and "0 done, 0 diverged, 1 failed" in err, err
    hint = re.search(r"`(rnnbench runs [^`]+)`", err)
    assert hint, err
    listed = subprocess.run([sys.executable, "-m", *shlex.split(hint[1]), "--csv", "--columns",
                             "run_id,error"], env=ENV, capture_output=True, text=True)
    rows = listed.stdout.splitlines()[1:]
    assert listed.returncode == 0 and [r.split(",")[0] for r in rows] == [run_dir.name], listed
    assert "killed by signal 9" in rows[0]
