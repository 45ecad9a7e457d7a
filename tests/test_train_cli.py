"""Tiny end-to-end runs: train() rows and resume, `rnnbench train` / `rnnbench gradnorm`, bad input exits
2."""
import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnbench.cli import main
from rnnbench.config import DEFAULTS, normalize
from rnnbench.errors import InputError
from rnnbench.train import train

ROOT = Path(__file__).resolve().parents[1]
TINY = {"seq_len": 8, "hidden": 6, "batch": 4, "test_size": 10, "eval_every": 5, "gradnorm_every": 4}
TINY_FLAGS = ["--seq-len", "8", "--hidden", "6", "--batch", "4", "--test-size", "10", "--eval-every", "5",
              "--no-progress"]


def test_normalize_defaults_and_canonical_form():
    cfg = normalize({})
    assert set(cfg) == set(DEFAULTS)
    assert cfg["momentum"] is None and cfg["series"] is None and cfg["forget_bias"] == 1.0
    assert normalize({"clip": 0})["clip_mode"] == "none" and normalize({"clip": 0})["clip"] is None
    assert normalize({"steps": 10.0})["steps"] == 10 and isinstance(normalize({"lr": 1})["lr"], float)
    assert normalize({"cell": "gru", "forget_bias": 1.0})["forget_bias"] is None   # the default is no choice
    for bad, key in [({"lr": "0.1"}, "lr"), ({"hidden": 2.5}, "hidden"),
                     ({"cell": "lstm", "nonlinearity": "relu"}, "nonlinearity"),
                     ({"optimizer": "adam", "momentum": 0.5}, "momentum"), ({"steps": -1}, "steps"),
                     ({"init": "identity"}, "init"), ({"lr": float("nan")}, "lr"), ({"seqlen": 3}, "seqlen")]:
        with pytest.raises(InputError, match=key):
            normalize(bad)


@pytest.mark.parametrize("task, cell", [("adding", "lstm"), ("copy", "peephole"), ("forecasting", "gru"),
                                        ("timing", "rnn")])
def test_train_rows(task, cell):
    cfg = normalize({**TINY, "task": task, "cell": cell, "steps": 12, "layers": 2, "backend": "reference"})
    r = train(cfg)
    assert r.status == "done" and r.step == 12 and r.diverged_at is None
    assert [m["step"] for m in r.metrics] == [0, 5, 10, 12]
    last = r.metrics[-1]
    assert last["rel_loss"] == pytest.approx(last["test_loss"] / last["baseline_loss"])
    assert math.isnan(r.metrics[0]["train_loss"]) and last["train_loss"] > 0 and last["grad_norm"] > 0
    T = 28 if task == "copy" else 8
    assert sorted({g["step"] for g in r.gradnorms}) == [0, 4, 8, 12]
    assert len(r.gradnorms) == 4 * 2 * T and {g["layer"] for g in r.gradnorms} == {0, 1}
    has_c = cell in ("lstm", "peephole")
    assert all(math.isnan(g["c_norm"]) != has_c for g in r.gradnorms)
    if task == "forecasting":
        assert {"nrmse_1", "nrmse_multi", "persistence_1", "persistence_multi"} <= set(last)


def test_probe_curve_is_dl_dh_of_the_probe_loss():
    """At t = T-1 (adding: loss at the last step only) ||dL/dh|| is ||W_out^T dL/dy|| of the probe batch."""
    from rnnbench.losses import mse
    from rnnbench.train import build
    cfg = normalize({**TINY, "cell": "gru", "steps": 0, "backend": "reference", "dtype": "float64"})
    r = train(cfg)
    task, model, _, _, test = build(cfg)
    probe = task.take(test, 0, 4)
    y, _ = model.forward(probe.x)
    dy = mse(y, probe.target)[1]
    expected = np.linalg.norm(dy @ model.head["readout.weight"])
    assert r.gradnorms[-1]["t"] == 7 and r.gradnorms[-1]["h_norm"] == pytest.approx(expected)


def test_diverging_run_stops_and_keeps_rows():
    cfg = normalize({**TINY, "cell": "rnn", "nonlinearity": "relu", "init": "identity", "optimizer": "sgd",
                     "lr": 1e4, "clip": 0, "steps": 50, "eval_every": 1, "backend": "reference"})
    r = train(cfg)
    assert r.status == "diverged" and r.diverged_at == r.step and 1 <= r.step < 50
    assert [m["step"] for m in r.metrics] == list(range(r.step))


class MemoryCheckpoint:
    def __init__(self):
        self.blob = None

    def load(self):
        return None if self.blob is None else pickle.loads(self.blob)

    def save(self, state):
        self.blob = pickle.dumps(state)


def test_resume_from_checkpoint_is_bitwise_identical():
    cfg = normalize({**TINY, "cell": "lstm", "steps": 20, "checkpoint_every": 7, "backend": "cpu"})
    whole = train(cfg)
    ckpt = MemoryCheckpoint()

    def stop_at_17(step, total, loss, steps_per_s):
        if step == 17:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, checkpoint=ckpt, progress=stop_at_17)
    assert ckpt.load()["run"]["step"] == 14
    resumed = train(cfg, checkpoint=ckpt)

    def strip(rows):
        return [{k: v for k, v in r.items() if k not in ("wall_time", "steps_per_s")} for r in rows]
    assert np.array_equal(np.array([list(r.values()) for r in strip(whole.metrics)]),
                          np.array([list(r.values()) for r in strip(resumed.metrics)]), equal_nan=True)
    assert resumed.gradnorms == whole.gradnorms


def test_cli_train_writes_the_run(tmp_path, capsys):
    argv = ["train", "--task", "adding", "--cell", "gru", "--steps", "6", "--backend", "reference",
            "--out", str(tmp_path)] + TINY_FLAGS
    assert main(argv) == 0
    (run_dir,) = tmp_path.iterdir()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["cell"] == "gru" and config["steps"] == 6 and config["seq_len"] == 8
    assert json.loads((run_dir / "status.json").read_text())["status"] == "done"
    assert (run_dir / "metrics.parquet").exists() and (run_dir / "gradnorms.parquet").exists()
    assert "done at step 6" in capsys.readouterr().out


def test_cli_gradnorm_writes_curves(tmp_path, capsys):
    out = tmp_path / "g.csv"
    assert main(["gradnorm", "--cells", "rnn,lstm", "--seq-len", "8", "--hidden", "6", "--batch", "4",
                 "--backend", "reference", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("# rnnbench") and lines[2] == "cell,step,layer,t,h_norm,c_norm"
    assert len(lines) == 3 + 2 * 8
    assert "lstm" in capsys.readouterr().out


@pytest.mark.parametrize("argv, words", [
    (["train", "--task", "nope"], "task"),
    (["train", "--cell", "lstmx"], "cell"),
    (["train", "--seq-len", "0"], "seq_len"),
    (["train", "--lr", "fast"], "--lr"),
    (["train", "--hidden", "1.5"], "--hidden"),
    (["train", "--series", "narma10"], "series"),
    (["train", "--stop-when-solved", "maybe"], "--stop-when-solved"),
    (["gradnorm", "--cells", "rnn,bad", "--seq-len", "8"], "cell"),
    (["gradnorm", "--task", "nope"], "task"),
])
def test_bad_input_exits_2_with_one_line(argv, words, tmp_path, capsys):
    assert main(argv + ["--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("rnnbench: error:") and words in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("text, value", [("false", False), ("False", False), ("0", False), ("true", True),
                                         ("yes", True)])
def test_bool_flags_read_their_word(text, value):
    from rnnbench.cli import build_parser
    from rnnbench.commands.train import config_from_args

    args = build_parser().parse_args(["train", "--stop-when-solved", text])
    assert config_from_args(args)["stop_when_solved"] is value


def test_cli_process_exit_code():
    p = subprocess.run([sys.executable, "-m", "rnnbench", "train", "--seq-len", "-3"], cwd=ROOT,
                       capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "seq_len" in p.stderr
