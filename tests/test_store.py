"""Run store unit tests: ids, atomic files, claims, skip/retry/resume logic, and the load_* readers.

train() is replaced by a scripted fake so these tests check the store alone; the real-process tests of
sweeps with the real train() (kill, resume, Dask, concurrency) are in tests/test_sweep_run.py.
"""
import json
import os
import socket
import subprocess
import sys
import types

import numpy as np
import pytest

from rnnbench import store
from rnnbench.claim import Claim, look
from rnnbench.config import normalize
from rnnbench.errors import InputError
from rnnbench.files import atomic_write, write_json


CFG = {"steps": 4, "checkpoint_every": 2}


def _normalize(raw):
    return normalize({**CFG, **raw})


class FakeTrain:
    """train() per the contract: metrics rows per step, checkpoint every checkpoint_every steps; it raises
    at step fail_at (once) and stops as diverged at step diverge_at."""

    def __init__(self):
        self.calls, self.resumed_from, self.fail_at, self.diverge_at = 0, [], None, None

    def __call__(self, config, *, checkpoint=None, progress=None):
        self.calls += 1
        state = checkpoint.load() or {"step": 0, "rows": []}
        self.resumed_from.append(state["step"])
        while state["step"] < config["steps"]:
            step = state["step"] = state["step"] + 1
            if step == self.fail_at:
                self.fail_at = None
                raise RuntimeError(f"boom at {step}")
            if step == self.diverge_at:
                return types.SimpleNamespace(status="diverged", step=step, diverged_at=step, solved_at=None,
                                             metrics=state["rows"], gradnorms=[], config=config)
            state["rows"].append({"step": step, "train_loss": 1.0 / step, "wall_time": 0.5 * step})
            progress(step, config["steps"], 1.0 / step, 10.0)
            if step % config["checkpoint_every"] == 0:
                checkpoint.save(state)
        grads = [{"step": s, "layer": 0, "t": t, "h_norm": float(s + t), "c_norm": np.nan}
                 for s in (0, config["steps"]) for t in range(3)]
        return types.SimpleNamespace(status="done", step=state["step"], diverged_at=None, solved_at=None,
                                     metrics=state["rows"], gradnorms=grads, config=config)


@pytest.fixture
def fake(monkeypatch):
    trainer = FakeTrain()
    monkeypatch.setattr("rnnbench.train.train", trainer)
    return trainer


def test_run_id_is_a_stable_hash_of_the_config():
    a = store.run_id({"cell": "lstm", "seed": 0, "lr": 0.01})
    assert a == store.run_id({"lr": 1e-2, "seed": 0, "cell": "lstm"})      # key order, float spelling
    assert a != store.run_id({"cell": "lstm", "seed": 1, "lr": 0.01})
    assert len(a) == 16 and int(a, 16) >= 0


def test_execute_writes_every_file_and_the_readers_return_them(fake, tmp_path):
    rid = store.execute({**CFG, "seed": 3}, tmp_path)
    d = tmp_path / rid
    assert sorted(p.name for p in d.iterdir()) == ["config.json", "gradnorms.parquet", "metrics.parquet",
                                                   "status.json"]      # no lock, temp or checkpoint left
    assert json.loads((d / "config.json").read_text()) == _normalize({"seed": 3})
    status = json.loads((d / "status.json").read_text())
    assert (status["status"], status["step"], status["wall_time"], status["error"]) == ("done", 4, 2.0, None)

    runs = store.load_runs(tmp_path)
    assert runs.to_dict("records") == [{"run_id": rid, "status": "done", "error": None, "steps_done": 4,
                                        "wall_time": 2.0, **_normalize({"seed": 3})}]
    m = store.load_metrics(tmp_path)
    assert list(m.columns) == ["run_id", "step", "train_loss", "wall_time"]
    assert m["step"].tolist() == [1, 2, 3, 4] and m["train_loss"].tolist() == [1, 0.5, 1 / 3, 0.25]
    g = store.load_gradnorms(tmp_path, [rid])
    assert len(g) == 6 and g["h_norm"].tolist() == [0, 1, 2, 4, 5, 6] and g["c_norm"].isna().all()


def test_finished_runs_are_skipped_and_their_files_untouched(fake, tmp_path):
    rid = store.execute(CFG, tmp_path)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (tmp_path / rid).iterdir()}
    assert store.run_once(CFG, tmp_path) == (rid, "skipped")
    assert fake.calls == 1
    assert before == {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (tmp_path / rid).iterdir()}


def test_failed_run_is_recorded_then_retried_from_its_checkpoint(fake, tmp_path):
    fake.fail_at = 3
    rid, outcome = store.run_once(CFG, tmp_path)
    status = json.loads((tmp_path / rid / "status.json").read_text())
    assert outcome == "failed" and status["status"] == "failed"
    assert status["error"] == "RuntimeError: boom at 3" and status["step"] == 2
    assert store.load_runs(tmp_path)["status"].tolist() == ["failed"]
    assert store.load_metrics(tmp_path).empty          # no results from an unfinished run

    assert store.run_once(CFG, tmp_path) == (rid, "done")
    assert fake.resumed_from == [0, 2]
    assert json.loads((tmp_path / rid / "status.json").read_text())["resumed_from"] == 2
    assert store.load_metrics(tmp_path)["step"].tolist() == [1, 2, 3, 4]


def test_diverged_run_keeps_its_rows_and_is_not_rerun(fake, tmp_path):
    fake.diverge_at = 3
    rid, outcome = store.run_once(CFG, tmp_path)
    status = store.read_status(tmp_path / rid)
    assert outcome == "diverged" and \
        (status["status"], status["step"], status["diverged_at"]) == ("diverged", 3, 3)
    assert store.load_metrics(tmp_path)["step"].tolist() == [1, 2]
    assert (store.load_gradnorms(tmp_path).columns.tolist() == ["run_id"]
            and store.load_gradnorms(tmp_path).empty)
    assert store.run_once(CFG, tmp_path) == (rid, "skipped") and fake.calls == 1


def test_unfinished_runs_are_listed_as_running_or_incomplete(tmp_path):
    for seed in (1, 2):
        run_dir = tmp_path / store.run_id(_normalize({"seed": seed}))
        run_dir.mkdir()
        write_json(run_dir / "config.json", _normalize({"seed": seed}))
    claim = Claim(tmp_path / store.run_id(_normalize({"seed": 1})))
    assert claim.acquire()
    try:
        runs = store.load_runs(tmp_path).set_index("seed")
    finally:
        claim.release()
    assert runs.loc[1, "status"] == "running" and runs.loc[2, "status"] == "incomplete"
    assert runs["steps_done"].isna().all()


def test_live_claim_makes_others_wait_or_report_busy(fake, tmp_path):
    rid = store.run_id(_normalize({}))
    (tmp_path / rid).mkdir()
    claim = Claim(tmp_path / rid)
    assert claim.acquire()
    assert not Claim(tmp_path / rid).acquire()
    assert store.run_once(CFG, tmp_path, wait=False) == (rid, "busy")
    claim.release()
    assert not (tmp_path / rid / "lock").exists()
    assert store.run_once(CFG, tmp_path, wait=False) == (rid, "done")


def test_lock_of_a_dead_process_is_taken_over(fake, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    run_dir = tmp_path / store.run_id(_normalize({}))
    run_dir.mkdir()
    (run_dir / "lock").write_text(json.dumps({"host": socket.gethostname(), "pid": int(dead.stdout),
                                               "token": "0" * 32}))
    assert store.run_once(CFG, tmp_path, wait=False)[1] == "done"
    assert not (run_dir / "lock").exists()


def test_only_a_dead_local_owner_is_stale_at_once(tmp_path):
    (tmp_path / "lock").write_text(json.dumps({"host": "elsewhere", "pid": 1, "token": "0" * 32}))
    assert not look(tmp_path).dead_here and look(tmp_path).owner["host"] == "elsewhere"
    (tmp_path / "lock").write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                                               "token": "0" * 32}))
    assert not look(tmp_path).dead_here
    for garbage in ("", "{", '{"host": "h", "pid": "abc", "token": "x"}', "[1]"):
        (tmp_path / "lock").write_text(garbage)
        assert look(tmp_path).owner is None and look(tmp_path).lock == garbage.encode()


def test_atomic_write_leaves_nothing_when_writing_fails(tmp_path):
    target = tmp_path / "metrics.parquet"
    target.write_bytes(b"old")

    def half(f):
        f.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(target, half)
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.parquet"] and target.read_bytes() == b"old"


def test_missing_store_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        store.load_runs(tmp_path / "nope")


def test_leftovers_of_an_owner_killed_after_finishing_are_removed(fake, tmp_path):
    rid = store.execute(CFG, tmp_path)
    d = tmp_path / rid
    (d / "checkpoint.npz").write_bytes(b"old state")
    (d / ".metrics.parquet.1234.tmp").write_bytes(b"half")
    (d / ".claim.0123").mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    (d / "lock").write_text(json.dumps({"host": socket.gethostname(), "pid": int(dead.stdout),
                                        "token": "0" * 32}))
    assert store.run_once(CFG, tmp_path) == (rid, "skipped")
    assert sorted(p.name for p in d.iterdir()) == ["config.json", "gradnorms.parquet", "metrics.parquet",
                                                   "status.json"]
