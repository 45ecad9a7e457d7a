"""The gradient-norm probe in another dtype than the run's (config key gradnorm_dtype), and the ids of runs
made before that key existed."""
import numpy as np

from rnnbench.config import normalize
from rnnbench.model import Model
from rnnbench.store import run_id
from rnnbench.train import build, gradnorm_rows, train

LONG_RNN = {"task": "adding", "seq_len": 300, "cell": "rnn", "hidden": 16, "batch": 4, "steps": 0,
            "test_size": 4}


def test_runs_made_before_the_key_existed_keep_their_ids():
    before = {"task": "adding", "seq_len": 1000, "cell": "rnn", "hidden": 128, "steps": 100}
    # the id rnnbench gave this config at 7ed9a70, before gradnorm_dtype: published stores stay valid
    assert run_id(normalize(before)) == "c5a047eea942c44f"
    assert run_id(normalize({**before, "gradnorm_dtype": "float32"})) == "c5a047eea942c44f"   # the run's own
    assert run_id(normalize({**before, "gradnorm_dtype": "float64"})) != "c5a047eea942c44f"


def _h_norms(rows):
    return np.array([r["h_norm"] for r in sorted(rows, key=lambda r: r["t"])])


def test_a_float64_probe_measures_what_float32_flushes_to_zero():
    config = normalize({**LONG_RNN, "gradnorm_dtype": "float64"})
    got = _h_norms(train(config).gradnorms)
    # oracle: the NumPy reference in float64 holding the run's float32 initial weights
    task, model, _, _, test = build(config)
    ref = Model("rnn", task.input_size, 16, task.output_size, readout=task.readout, backend="reference",
                dtype="float64")
    ref.load_state_dict(model.state_dict())
    want = _h_norms(gradnorm_rows(task, ref, task.take(test, 0, 4), 0))
    assert want[0] < 1e-45 < want[-1]          # past float32's smallest normal (1.2e-38) at t = 0
    np.testing.assert_allclose(got, want, rtol=1e-10)
    f32 = _h_norms(train(normalize(LONG_RNN)).gradnorms)
    assert f32[0] == 0 and f32[-1] > 0
    np.testing.assert_allclose(f32[-1], want[-1], rtol=1e-4)
