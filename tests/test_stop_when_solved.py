"""stop_when_solved: a run stops, "done", at the solve_patience-th evaluation in a row that meets its task's
solve criterion, with solved_at = the first of them; a run killed with SIGKILL resumes to the same result.

The oracle is the same run without stop_when_solved: its metrics, read with pandas, say where the criterion
(written here from the task definitions) first held at k evaluations in a row."""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from rnnbench import store
from rnnbench.config import normalize
from rnnbench.errors import InputError
from rnnbench.train import train

ROOT = Path(__file__).resolve().parents[1]
# adding at T = 10 first gets test MSE < 0.01 after a few hundred steps (at 340 with this seed)
ADDING = {"task": "adding", "seq_len": 10, "cell": "lstm", "hidden": 16, "batch": 20, "lr": 1e-2,
          "eval_every": 20, "test_size": 100, "gradnorm_every": 100, "backend": "reference", "steps": 600}
# timing at T = 12 is solved at evaluations 170-190, 210-230 and from 250 on: k = 4 must skip two streaks of 3
TIMING = {**ADDING, "task": "timing", "seq_len": 12, "eval_every": 10, "steps": 400}
CRITERIA = {"adding": lambda m: m["test_loss"] < 0.01, "timing": lambda m: m["accuracy"] >= 0.95}
VOLATILE = ["wall_time", "steps_per_s"]


def _expected_stop(config, k):
    """(solved_at, stop step, the rows up to it) from the run without stop_when_solved."""
    rows = pd.DataFrame(train(normalize(config)).metrics)
    ok = CRITERIA[config["task"]](rows).astype(int)
    streak = ok.groupby((ok == 0).cumsum()).cumsum()          # solved evaluations in a row, per row
    end = int((streak >= k).idxmax())
    assert streak[end] == k, "the oracle run never solved: pick a longer run"
    return int(rows["step"][end - k + 1]), int(rows["step"][end]), rows.iloc[:end + 1]


def _frame(rows):
    return pd.DataFrame(rows).drop(columns=VOLATILE).reset_index(drop=True)


@pytest.mark.parametrize("config, k", [(ADDING, 3), (TIMING, 1), (TIMING, 4)])
def test_run_stops_at_the_kth_solved_evaluation_in_a_row(config, k):
    solved_at, stop, rows = _expected_stop(config, k)
    r = train(normalize({**config, "stop_when_solved": True, "solve_patience": k}))
    assert (r.status, r.step, r.solved_at, r.diverged_at) == ("done", stop, solved_at, None)
    assert stop < config["steps"]
    pd.testing.assert_frame_equal(_frame(r.metrics), _frame(rows.to_dict("records")))
    assert sorted({g["step"] for g in r.gradnorms})[-1] == stop        # the probe also runs at the last step


def test_without_stop_when_solved_nothing_changes():
    r = train(normalize(TIMING))
    assert r.step == TIMING["steps"] and r.solved_at is None


def test_forecasting_has_no_solve_criterion_and_refuses_the_key():
    assert normalize({"task": "forecasting"})["stop_when_solved"] is None
    with pytest.raises(InputError, match="stop_when_solved.*no solve criterion"):
        normalize({"task": "forecasting", "stop_when_solved": True})
    with pytest.raises(InputError, match="solve_patience.*stop_when_solved is off"):
        normalize({"solve_patience": 5})
    for bad in ({"stop_when_solved": "yes"}, {"stop_when_solved": 1},
                {"stop_when_solved": True, "solve_patience": 0}):
        with pytest.raises(InputError, match=next(iter(bad)) if len(bad) == 1 else "solve_patience"):
            normalize(bad)


CHILD = """
import json, sys, time
from rnnbench import store
config, root, pause = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])

def progress(step, total, loss, steps_per_s):
    if step == pause:              # hold still here so the parent's SIGKILL lands mid-run, after a checkpoint
        print("paused", flush=True)
        time.sleep(600)

store.execute(config, root, progress=progress)
"""


def test_killed_run_resumes_to_the_same_result(tmp_path):
    """Checkpoints every 60 steps; the kill comes at step 370, after the checkpoint at 360 that holds two of
    the three solved evaluations (340, 360) that stop the run at 380, so the resumed process must count
    them."""
    config = normalize({**ADDING, "stop_when_solved": True, "checkpoint_every": 60})
    whole = train(config)
    assert (whole.solved_at, whole.step) == (340, 380)
    child = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(config), str(tmp_path), "370"],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "paused"
    finally:
        child.kill()                   # SIGKILL
        child.wait()
    rid = store.execute(config, tmp_path)
    status = json.loads((tmp_path / rid / "status.json").read_text())
    assert {k: status[k] for k in ("status", "step", "solved_at", "resumed_from")} == \
        {"status": "done", "step": 380, "solved_at": 340, "resumed_from": 360}
    stored = store.load_metrics(tmp_path, [rid]).drop(columns=["run_id"])
    pd.testing.assert_frame_equal(stored.drop(columns=VOLATILE), _frame(whole.metrics))
    grads = store.load_gradnorms(tmp_path, [rid]).drop(columns=["run_id"])
    pd.testing.assert_frame_equal(grads, pd.DataFrame(whole.gradnorms))
