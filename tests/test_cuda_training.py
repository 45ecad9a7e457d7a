"""`rnnbench train --backend cuda`: the training loop with parameters, gradients and optimizer state on the
GPU (rnnbench/kernels/cuda/training.py) against the same loop on the reference backend (losses, clipping
modes, optimizers, readouts, probe gradient norms), what crosses to the host per step, and resuming from a
checkpoint.

Without a GPU these run in numba's CUDA simulator (tests/conftest.py), so shapes stay tiny.
"""
import numpy as np
import pytest

from rnnbench.config import normalize
from rnnbench.store import Checkpoint
from rnnbench.train import build, train, train_step


@pytest.fixture(autouse=True)
def _cuda():
    from rnnbench.backend import get_backend
    from rnnbench.errors import InputError
    try:
        get_backend("cuda")
    except InputError as e:
        pytest.skip(str(e))


BASE = {"seq_len": 4, "hidden": 3, "batch": 2, "steps": 2, "eval_every": 2, "gradnorm_every": 2,
        "test_size": 2, "dtype": "float64"}
RUNS = {   # every loss, readout, optimizer and clipping mode, with a clip small enough to act
    "adding-lstm-adam-norm": {"task": "adding", "cell": "lstm", "optimizer": "adam", "clip_mode": "norm",
                              "clip": 0.05},
    "copy-gru-sgd-value": {"task": "copy", "seq_len": 1, "cell": "gru", "optimizer": "sgd", "lr": 0.5,
                           "clip_mode": "value", "clip": 0.01},
    "timing-rnn-rmsprop-none": {"task": "timing", "cell": "rnn", "layers": 2, "optimizer": "rmsprop",
                                "clip_mode": "none"},
    "adding-indrnn-sgd-norm": {"task": "adding", "cell": "indrnn", "optimizer": "sgd", "lr": 0.1,
                               "clip_mode": "norm", "clip": 0.05},
}


@pytest.mark.parametrize("run", RUNS)
def test_training_on_cuda_matches_reference(run):
    ref, cu = (train(normalize({**BASE, **RUNS[run], "backend": b})) for b in ("reference", "cuda"))
    assert cu.status == ref.status == "done"
    for rows_ref, rows_cu in ((ref.metrics, cu.metrics), (ref.gradnorms, cu.gradnorms)):
        assert len(rows_cu) == len(rows_ref)
        for a, b in zip(rows_ref, rows_cu):
            for key, v in a.items():
                if isinstance(v, float) and key not in ("wall_time", "steps_per_s"):
                    assert b[key] == pytest.approx(v, rel=1e-9, abs=1e-12, nan_ok=True), key


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_a_diverging_run_stops_at_the_same_step_as_on_the_reference():
    # float32 parameters of ~1e30 after one step: the next loss overflows, and the step is not applied (the
    # simulator's kernels are NumPy arithmetic, which warns about the overflow)
    config = {**BASE, "task": "adding", "cell": "rnn", "nonlinearity": "relu", "optimizer": "sgd", "lr": 1e30,
              "clip": 0, "dtype": "float32", "steps": 4, "eval_every": 4, "gradnorm_every": 4}
    ref, cu = (train(normalize({**config, "backend": b})) for b in ("reference", "cuda"))
    assert (cu.status, cu.diverged_at, len(cu.metrics)) == (ref.status, ref.diverged_at, len(ref.metrics)) \
        == ("diverged", 2, 1)


def test_a_step_reads_back_only_the_loss_and_the_gradient_sums(monkeypatch):
    # parameters and optimizer state are device arrays; the step copies one array to the host: the loss and
    # one sum of squares per parameter
    from rnnbench.kernels.cuda.device import SIMULATED, is_device_array
    config = normalize({**BASE, **RUNS["adding-lstm-adam-norm"], "backend": "cuda"})
    task, model, optimizer, rng, _ = build(config)
    if SIMULATED:
        from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray as array_type
    else:
        from numba.cuda.cudadrv.devicearray import DeviceNDArray as array_type
    copied = []
    to_host = array_type.copy_to_host

    def counted(self, *args, **kwargs):
        copied.append((self.shape, self.dtype))
        return to_host(self, *args, **kwargs)
    monkeypatch.setattr(array_type, "copy_to_host", counted)
    for _ in range(2):
        train_step(task, model, optimizer, task.batch(rng, config["batch"]), config)
    P = len(model.params)
    assert copied == [((1 + P,), np.float64)] * 2
    assert all(is_device_array(v) for v in model.params.values())
    slots = optimizer._slots
    assert set(slots) == {"exp_avg", "exp_avg_sq"}
    assert all(is_device_array(v) and set(arrays) == set(model.params) for arrays in slots.values()
               for v in arrays.values())


def test_resume_from_checkpoint_is_bitwise_identical(tmp_path):
    # the parameters and Adam's moments go to the checkpoint as host arrays and back onto the device
    config = normalize({**BASE, **RUNS["adding-lstm-adam-norm"], "steps": 4, "checkpoint_every": 2,
                        "gradnorm_every": 4, "backend": "cuda"})
    whole = train(config)

    def stop_at_3(step, total, loss, steps_per_s):
        if step == 3:
            raise KeyboardInterrupt

    checkpoint = Checkpoint(tmp_path / "checkpoint.pkl")
    with pytest.raises(KeyboardInterrupt):
        train(config, checkpoint=checkpoint, progress=stop_at_3)
    resumed = train(config, checkpoint=checkpoint)
    assert checkpoint.loaded

    def values(rows):
        return np.array([[v for k, v in r.items() if k not in ("wall_time", "steps_per_s")] for r in rows])
    assert np.array_equal(values(resumed.metrics), values(whole.metrics), equal_nan=True)
    assert resumed.gradnorms == whole.gradnorms
