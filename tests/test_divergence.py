"""A diverging run ends as "diverged" at the step where it diverged, never "done", and without a numpy
warning: a non-finite optimizer update or state, a non-finite or too large (divergence_factor x baseline) test
loss at an evaluation, a training loss beyond that limit, and a dL/dh that overflows the model's dtype."""
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from rnnbench.config import normalize
from rnnbench.model import Model
from rnnbench.optim import make_optimizer
from rnnbench.train import build, train, train_step

ROOT = Path(__file__).resolve().parents[1]
# issue 13's reproduction: a tanh RNN under Adam at lr 1e6, unclipped
ISSUE = {"cell": "rnn", "lr": 1e6, "clip_mode": "none", "hidden": 8, "steps": 50, "seq_len": 20,
         "test_size": 50, "batch": 10}
ISSUE_FLAGS = ["--cell", "rnn", "--lr", "1e6", "--clip-mode", "none", "--hidden", "8", "--steps", "50",
               "--seq-len", "20", "--test-size", "50", "--batch", "10"]


def _train(**config):
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # any numpy RuntimeWarning fails the test
        return train(normalize(config))


def test_issue_run_ends_diverged_on_the_command_line_without_warnings(tmp_path):
    """It used to end "done" with a test loss 1e13 x the baseline and an overflow warning from optim.py."""
    p = subprocess.run([sys.executable, "-m", "rnnbench", "train", *ISSUE_FLAGS, "--out", str(tmp_path),
                        "--no-progress"], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "diverged at step" in p.stdout and "Warning" not in p.stderr, (p.stdout, p.stderr)


@pytest.mark.parametrize("eval_every, step", [(100, 2), (1, 1)])
def test_loss_beyond_the_factor_times_the_baseline_diverges(eval_every, step):
    """Step 1's Adam update (each weight moves by ~lr = 1e6) makes the model's loss ~1e13: seen by the
    evaluation at step 1 when there is one, else by step 2's training loss. The rows kept are the ones
    before."""
    r = _train(**ISSUE, eval_every=eval_every, backend="reference")
    assert (r.status, r.diverged_at, r.step) == ("diverged", step, step)
    assert [m["step"] for m in r.metrics] == [0]
    assert _train(**ISSUE, eval_every=eval_every, backend="reference",
                  divergence_factor=1e300).status == "done"


def test_infinite_test_loss_at_an_evaluation_diverges():
    """Readout weights of ~3e37 overflow float32 predictions on the test set at step 1's evaluation; that row
    used to be recorded (test_loss inf) and training went on."""
    r = _train(**{**ISSUE, "hidden": 64, "lr": 3e37, "eval_every": 1, "backend": "reference"})
    assert (r.status, r.diverged_at) == ("diverged", 1)
    assert all(math.isfinite(m["test_loss"]) for m in r.metrics) and len(r.metrics) == 1


def test_overflowing_adam_state_diverges_and_changes_nothing():
    """A gradient past ~6e20 (finite in float32) overflows Adam's float32 second moment ((1 - beta2) g^2 >
    3.4e38): the step counts as diverged and no parameter moves. A readout bias of 1e22 puts dL/dy there while
    the loss (float64) and dL/dh = dL/dy @ W_out (~1e21) stay finite, so only the optimizer can see it."""
    config = normalize({**ISSUE, "backend": "cpu", "divergence_factor": 1e300})
    task, model, optimizer, rng, _ = build(config)
    state = model.state_dict()
    state["readout.bias"] = np.full_like(state["readout.bias"], 1e22)
    model.load_state_dict(state)
    before = {k: np.array(v) for k, v in model.state_dict().items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, norm = train_step(task, model, optimizer, task.batch(rng, config["batch"]), config)
    assert math.isfinite(loss) and math.isnan(norm)
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


def test_overflowing_dl_dh_diverges_instead_of_failing():
    """At step 2 the loss is finite (~1e75 in float64) but dL/dh = dL/dy @ W_out overflows float32: the
    recurrent backward used to refuse it as bad input (InputError), failing the run."""
    r = _train(**{**ISSUE, "lr": 1e37, "eval_every": 1, "backend": "reference", "divergence_factor": 1e300})
    assert (r.status, r.diverged_at) == ("diverged", 2)
    m = Model("lstm", 2, 4, 1, backend="reference")
    y, fwd = m.forward(np.ones((3, 2, 2)))
    assert m.backward(fwd, np.full(y.shape, 1e300)) == (None, None)        # float64 dL/dy, as the losses give


@pytest.mark.parametrize("name, lr, g", [("adam", 1e-3, 1e22), ("rmsprop", 1e-3, 1e22), ("sgd", 1e30, 1e10)])
def test_optimizer_refuses_a_non_finite_state_or_update(name, lr, g):
    """Adam's and RMSProp's (1 - beta) g^2 overflows float32 (> 1e40); SGD's lr * g does. The step returns
    False and changes no parameter, where it used to apply a zero (Adam: m / sqrt(inf)) or infinite update
    with a warning."""
    params = {"a": np.ones((3, 2), np.float32), "b": np.ones(4, np.float32)}
    grads = {"a": np.full((3, 2), 0.5, np.float32), "b": np.full(4, g, np.float32)}
    opt = make_optimizer(name, lr, 0.9 if name == "sgd" else None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert opt.step(params, grads) is False
    assert all((p == 1).all() for p in params.values())
    assert make_optimizer(name, 1e-3).step(params, {k: np.ones_like(v) for k, v in params.items()}) is True
