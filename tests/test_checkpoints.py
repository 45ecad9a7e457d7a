"""Checkpoints are data only: a training state survives the .npz round trip bit for bit (so a resume is
bitwise identical), and a checkpoint that is junk, truncated, empty, another run's or a planted pickle
never runs code and never blocks its run: it is discarded with a warning and the run starts from step 0."""
import io
import json
import pickle

import numpy as np
import pytest

from rnnbench import checkpoint, store
from rnnbench.config import normalize
from rnnbench.train import train

TINY = {"seq_len": 6, "hidden": 5, "batch": 4, "test_size": 8, "eval_every": 3, "gradnorm_every": 4,
        "backend": "reference", "cell": "lstm", "steps": 12, "checkpoint_every": 5}
TIMING = ("wall_time", "steps_per_s")


class NpzInMemory:
    """A checkpoint kept as .npz bytes, written and read by rnnbench.checkpoint's codec."""

    def __init__(self):
        self.data = None

    def save(self, state):
        f = io.BytesIO()
        checkpoint.dump(state, f)
        self.data = f.getvalue()

    def load(self):
        return None if self.data is None else checkpoint.load(self.data)


def _numbers(rows):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def _stop_at(step_to_stop):
    def progress(step, total, loss, steps_per_s):
        if step == step_to_stop:
            raise KeyboardInterrupt
    return progress


def test_resume_through_the_npz_format_is_bitwise_identical():
    cfg = normalize({**TINY, "optimizer": "sgd", "momentum": 0.9})
    whole = train(cfg)
    ckpt = NpzInMemory()
    with pytest.raises(KeyboardInterrupt):
        train(cfg, checkpoint=ckpt, progress=_stop_at(8))
    state = ckpt.load()
    assert state["run"]["step"] == 5 and state["params"]["weight_hh_l0"].dtype == np.float32
    assert state["optimizer"]["buf"]["weight_hh_l0"].dtype == np.float32
    resumed = train(cfg, checkpoint=ckpt)
    np.testing.assert_equal(_numbers(resumed.metrics), _numbers(whole.metrics))     # NaN == NaN here
    assert resumed.gradnorms == whole.gradnorms


def test_every_kind_of_value_round_trips_exactly():
    state = {"f32": np.float32(0.1), "f64": np.float64(1 / 3), "i": 2 ** 100, "nan": float("nan"),
             "inf": -float("inf"), "neg0": -0.0, "tuple": (1, "a", None), "flag": True,
             "arrays": [np.arange(6, dtype=np.int64).reshape(2, 3), np.array([np.nan, 1e-45], np.float32)],
             "rng": np.random.default_rng(7).bit_generator.state}
    f = io.BytesIO()
    checkpoint.dump(state, f)
    back = checkpoint.load(f.getvalue())
    assert type(back["f32"]) is np.float32 and back["f32"] == state["f32"]
    assert type(back["f64"]) is np.float64 and back["f64"] == state["f64"]
    assert back["i"] == 2 ** 100 and np.isnan(back["nan"]) and back["inf"] == -np.inf
    assert str(back["neg0"]) == "-0.0" and back["tuple"] == (1, "a", None) and back["flag"] is True
    for a, b in zip(back["arrays"], state["arrays"]):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert back["rng"] == state["rng"]
    with pytest.raises(TypeError):
        checkpoint.dump({"f": len}, io.BytesIO())


class Planted:
    """What unpickling it does: create the file `path` (a stand-in for any shell command)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def _real_checkpoint(config):
    """The .npz bytes of the config's checkpoint at step 5, as a run stopped at step 6 leaves it."""
    ckpt = NpzInMemory()
    with pytest.raises(KeyboardInterrupt):
        train(config, checkpoint=ckpt, progress=_stop_at(6))
    return ckpt.data


def _object_npz(marker):
    f = io.BytesIO()
    np.savez(f, **{"state.json": np.array([Planted(marker)], dtype=object)})
    return f.getvalue()


@pytest.mark.parametrize("kind", ["junk", "empty", "truncated", "pickle", "object array", "another run's"])
def test_a_bad_checkpoint_is_discarded_and_the_run_starts_from_step_0(tmp_path, capsys, kind):
    config = normalize(TINY)
    rid = store.run_id(config)
    marker = tmp_path / "code-ran"
    other = normalize({**TINY, "seed": 1})
    blob = {"junk": lambda: b"\x00garbage" * 9, "empty": lambda: b"",
            "truncated": lambda: _real_checkpoint(config)[:-40],
            "pickle": lambda: pickle.dumps(Planted(marker)),
            "object array": lambda: _object_npz(marker),
            "another run's": lambda: _real_checkpoint(other)}[kind]()
    run_dir = tmp_path / "runs" / rid
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(config))
    # where this version reads its checkpoint, and where earlier versions read theirs (a pickle)
    for name in ("checkpoint.npz", "checkpoint.pkl"):
        (run_dir / name).write_bytes(blob)
    store.execute(config, tmp_path / "runs")
    status = store.read_status(run_dir)
    assert (status["status"], status["resumed_from"]) == ("done", None)
    assert not marker.exists()
    warning = capsys.readouterr().err.splitlines()
    assert (len(warning) == 1 and "unreadable checkpoint discarded" in warning[0]
            and "checkpoint.npz" in warning[0])
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(store.RESULT_FILES)
    fresh = tmp_path / "fresh"
    store.execute(config, fresh)
    np.testing.assert_equal(_numbers(store.load_metrics(tmp_path / "runs").to_dict("records")),
                            _numbers(store.load_metrics(fresh).to_dict("records")))
