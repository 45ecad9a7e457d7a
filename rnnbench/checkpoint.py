"""Training checkpoints as data only: one .npz file of arrays whose member `state.json` holds the rest.

    ckpt = Checkpoint("runs/<id>/checkpoint.npz")     # what train() is given: load() -> state | None,
                                                      # save(state)

A state is nested dicts (string keys), lists, tuples, str, int, float, bool, None, NumPy arrays and NumPy
scalars. Arrays and NumPy scalars go into the .npz; everything else into state.json, where an array is
{"__array__": name} and a NumPy scalar {"__scalar__": name}. Python floats are written by repr (NaN and
Infinity included) and integers exactly, so a loaded state equals the saved one bit for bit and resuming is
bitwise identical. np.load runs with allow_pickle=False: a checkpoint from anywhere cannot run code.
A checkpoint that does not decode (junk, truncated, empty, another format, another run's) is deleted with a
warning and load() returns None, so the run starts again from step 0 instead of failing on every retry.
"""
import io
import json
import sys
from pathlib import Path

import numpy as np

from rnnbench.files import atomic_write, read_bytes

FORMAT = 1
_STATE = "state.json"
_TAGS = ("__array__", "__scalar__", "__tuple__")


def _encode(obj, arrays):
    """obj -> a JSON-able tree; arrays and NumPy scalars are moved into `arrays` (name -> ndarray)."""
    if isinstance(obj, (np.ndarray, np.generic)):
        value = np.asarray(obj)
        if value.dtype.hasobject:
            raise TypeError("a checkpoint cannot hold object arrays")
        name = f"a{len(arrays)}"
        arrays[name] = value
        return {"__array__" if isinstance(obj, np.ndarray) else "__scalar__": name}
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj) or any(t in obj for t in _TAGS):
            raise TypeError(f"a checkpoint's dict keys must be strings other than {', '.join(_TAGS)}")
        return {k: _encode(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_encode(v, arrays) for v in obj]
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in obj]}
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    raise TypeError(f"a checkpoint cannot hold a {type(obj).__name__}")


def _decode(tree, npz):
    if isinstance(tree, dict):
        if tree.keys() == {"__array__"}:
            return np.array(npz[tree["__array__"]])
        if tree.keys() == {"__scalar__"}:
            value = npz[tree["__scalar__"]]
            if value.ndim:
                raise ValueError("a scalar entry holds an array")
            return value[()]
        if tree.keys() == {"__tuple__"}:
            return tuple(_decode(v, npz) for v in tree["__tuple__"])
        return {k: _decode(v, npz) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_decode(v, npz) for v in tree]
    return tree


def dump(state, f, run=None):
    """Write `state` (of the run named `run`, if any) to the binary file f as an .npz."""
    arrays = {}
    tree = {"format": FORMAT, "run": run, "state": _encode(state, arrays)}
    np.savez(f, **arrays, **{_STATE: np.frombuffer(json.dumps(tree).encode(), np.uint8)})


def load(data, run=None):
    """The state in .npz bytes; any error means the bytes are not a checkpoint of this format (and, when
    `run` is given, of that run)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        tree = json.loads(npz[_STATE].tobytes())
        if not isinstance(tree, dict) or tree.get("format") != FORMAT or "state" not in tree:
            raise ValueError(f"not a format-{FORMAT} rnnbench checkpoint")
        if run is not None and tree.get("run") != run:
            raise ValueError(f"the checkpoint of run {tree.get('run')!r}, not of {run!r}")
        return _decode(tree["state"], npz)


class Checkpoint:
    """The checkpoint object train() is given. With a claim (rnnbench.claim.Claim: a run in the store) every
    write and delete is the claim's fenced one; without, the file is written atomically beside itself."""

    def __init__(self, path, claim=None, run=None):
        self.path = Path(path)
        self.claim, self.run = claim, run       # run: the run id written into it and checked on load
        self.loaded = False

    def load(self):
        """The saved state, or None when there is none or it does not decode (then it is deleted)."""
        try:
            state = load(read_bytes(self.path), self.run)
        except FileNotFoundError:
            return None
        except Exception as e:       # decoding untrusted bytes can fail in many ways; all mean "unreadable"
            print(f"rnnbench: warning: {self.path}: unreadable checkpoint discarded, the run starts again "
                  f"from step 0 ({type(e).__name__}: {e})", file=sys.stderr, flush=True)
            self._remove()
            return None
        self.loaded = True
        return state

    def save(self, state):
        if self.claim is None:
            atomic_write(self.path, lambda f: dump(state, f, self.run))
        else:
            self.claim.write(self.path.name, lambda f: dump(state, f, self.run))

    def _remove(self):
        if self.claim is None:
            self.path.unlink(missing_ok=True)
        else:
            self.claim.remove(self.path.name)
