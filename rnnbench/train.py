"""The training loop: one config in, learning curves and gradient-norm curves out.

    result = train(normalize({"task": "adding", "seq_len": 100, "cell": "lstm", "steps": 5000}))
    result.status, result.metrics[-1]["test_loss"], result.gradnorms[:3]

Per step: a fresh seeded batch, forward, loss, backward, global gradient norm, clipping, optimizer step.
Every `eval_every` steps (and at steps 0 and the last) a metrics row: the test set's loss and accuracy, and
train_loss and grad_norm averaged over the steps since the previous row. At step 0, every `gradnorm_every`
steps and the last step: ||dL/dh_t|| (and ||dL/dc_t||) for every layer and t on a fixed probe batch (the
first `batch` test sequences), computed in `gradnorm_dtype` where set (float64: curves that float32 would
flush to 0 far from the loss stay measurable).

Divergence: the run stops as "diverged" at step s, with its rows before s, when at step s the training loss,
dL/dh (in the model's dtype), the gradient norm, the optimizer's update or its state is NaN/Inf, or when the
training loss or the test loss of the evaluation at s is above `divergence_factor` times the task's baseline
loss. No numpy warning is raised for any of these: they are detected and recorded.

Stopping when solved (`stop_when_solved`): once the task's solve criterion (rnnbench.tasks.base
.SolveCriterion) holds at `solve_patience` evaluations in a row, the run ends "done" at the last of them,
with a final probe of gradient norms there; `solved_at` is the step of the first of them.

Seeds: one SeedSequence(seed) gives the model's initial weights, the training batches and the test set.
With a checkpoint object, the run saves its whole state every `checkpoint_every` steps and a rerun resumes
from it bitwise-identically.
"""
import copy
import functools
import math
import time
from typing import NamedTuple, Optional

import numpy as np

from rnnbench.init import initialize
from rnnbench.losses import LOSSES
from rnnbench.model import Model
from rnnbench.optim import clip, global_norm, make_optimizer
from rnnbench.tasks import make_task

EVAL_ELEMENTS = 50_000   # test sequences per forward pass x T: bounds the memory of the outputs


class TrainResult(NamedTuple):
    status: str                  # "done" | "diverged"
    step: int                    # last step run
    diverged_at: Optional[int]
    metrics: list                # dict rows, see rnnbench.train docstring / contracts
    gradnorms: list              # dict rows: step, layer, t, h_norm, c_norm
    config: dict
    # stop_when_solved: first step of the evaluations in a row that stopped it
    solved_at: Optional[int] = None


def build(config):
    """(task, model, optimizer, batch rng, test set) for a normalized config, before any training."""
    task = make_task(config)
    init_seq, batch_seq, test_seq = np.random.SeedSequence(config["seed"]).spawn(3)
    model = _model(config, task, config["dtype"])
    initialize(model.rnn, config["init"], config["forget_bias"], np.random.default_rng(init_seq),
               seq_len=config["seq_len"])
    optimizer = make_optimizer(config["optimizer"], config["lr"], config["momentum"])
    if config["backend"] == "cuda":     # parameters, gradients and optimizer state stay on the GPU
        from rnnbench.kernels.cuda.training import on_device
        model, optimizer = on_device(model, optimizer)
    test = task.test_set(np.random.default_rng(test_seq), config["test_size"])
    return task, model, optimizer, np.random.default_rng(batch_seq), test


def _model(config, task, dtype):
    return Model(config["cell"], task.input_size, config["hidden"], task.output_size, config["layers"],
                 task.readout, config["nonlinearity"], config["backend"], dtype, seed=config["seed"])


def gradnorm_model(config, task, model):
    """A function () -> the model the gradient-norm probe runs: `model` itself, or with gradnorm_dtype set a
    copy in that dtype holding `model`'s current weights (float32 weights widen to float64 exactly)."""
    if config["gradnorm_dtype"] is None:
        return lambda: model
    twin = _model(config, task, config["gradnorm_dtype"])

    def current():
        twin.load_state_dict(model.state_dict())
        return twin
    return current


def _quiet(f):
    """A diverging run is detected (non-finite loss or gradient norm) and recorded, not warned about."""
    @functools.wraps(f)
    def quiet(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore"):
            return f(*args, **kwargs)
    return quiet


@_quiet
def loss_and_grads(task, model, batch, grad_norms=True):
    """Forward and backward on one batch: (loss, grads keyed like state_dict, the RNN's Grads, with its
    gradient-norm curves unless grad_norms=False). grads is None when the loss, or dL/dh in the model's
    dtype, is not finite."""
    y, fwd = model.forward(batch.x, batch.lengths)
    loss, dy = LOSSES[task.loss](y, batch.target)
    if not math.isfinite(loss):
        return loss, None, None
    grads, g = model.backward(fwd, dy, grad_norms=grad_norms)
    return loss, grads, g


def loss_limit(task, config):
    """The loss above which a run counts as diverged."""
    return config["divergence_factor"] * task.baseline_loss


def train_step(task, model, optimizer, batch, config):
    """One step on one batch: forward, backward, clip, update. Returns (loss, global grad norm before
    clipping); the norm is NaN or Inf when the run diverged at this step (see the module docstring), and then
    no parameter was changed (on the GPU, a step whose loss is past the limit has already been applied)."""
    if hasattr(model, "train_step"):    # a model on the GPU runs the whole step there
        loss, norm = model.train_step(task, optimizer, batch, config)
        return (loss, norm) if loss <= loss_limit(task, config) else (loss, math.nan)
    loss, grads, _ = loss_and_grads(task, model, batch, grad_norms=False)
    if grads is None or not loss <= loss_limit(task, config):
        return loss, math.nan
    norm = global_norm(grads)
    if not math.isfinite(norm):
        return loss, norm
    clip(grads, config["clip_mode"], config["clip"], norm)
    return loss, norm if optimizer.step(model.params(), grads) else math.nan


@_quiet
def evaluate(task, model, test):
    """Test loss and task metrics, in chunks of at most EVAL_ELEMENTS sequence-steps."""
    n = test.x.shape[1]
    chunk = max(1, EVAL_ELEMENTS // test.x.shape[0])
    preds, loss = [], 0.0
    for start in range(0, n, chunk):
        part = task.take(test, start, min(start + chunk, n))
        y, _ = model.forward(part.x, part.lengths, grad=False)
        loss += LOSSES[task.loss](y, part.target)[0] * part.x.shape[1]
        preds.append(y)
    pred = np.concatenate(preds, axis=1 if task.readout == "all" else 0)
    return loss / n, task.metrics(pred, test)


def gradnorm_rows(task, model, probe, step):
    """||dL/dh_t|| and ||dL/dc_t|| per layer and t on the probe batch (c_norm NaN without a cell state)."""
    _, _, g = loss_and_grads(task, model, probe)
    if g is None:
        return []
    L, T = g.grad_norms.shape
    c = g.cell_grad_norms if g.cell_grad_norms is not None else np.full((L, T), np.nan)
    return [{"step": step, "layer": k, "t": t, "h_norm": float(g.grad_norms[k, t]), "c_norm": float(c[k, t])}
            for k in range(L) for t in range(T)]


def solved_at(rows, criterion, patience):
    """The step of the first of the last `patience` metrics rows when the criterion holds at all of them."""
    last = rows[-patience:]
    if len(last) == patience and all(criterion.holds(row) for row in last):
        return last[0]["step"]
    return None


def train(config, *, checkpoint=None, progress=None):
    """Train a normalized config; see the module docstring. Returns a TrainResult."""
    task, model, optimizer, rng, test = build(config)
    criterion = task.solve_criterion if config["stop_when_solved"] else None
    probe = task.take(test, 0, min(config["batch"], test.x.shape[1]))
    probed = gradnorm_model(config, task, model)
    steps, eval_every, gradnorm_every = config["steps"], config["eval_every"], config["gradnorm_every"]
    ckpt_every = config["checkpoint_every"] if checkpoint is not None else 0

    state = checkpoint.load() if checkpoint is not None else None
    if state is not None:
        model.load_state_dict(state["params"])
        optimizer.state = state["optimizer"]
        rng.bit_generator.state = state["rng"]
        run = state["run"]
    else:
        run = {"step": 0, "elapsed": 0.0, "metrics": [], "gradnorms": [], "loss_sum": 0.0, "norm_sum": 0.0,
               "since_row": 0}
    start = time.perf_counter() - run["elapsed"]
    row_time, session_start, session_step = time.perf_counter(), time.perf_counter(), run["step"]

    def add_row(step):
        """Evaluate and append a metrics row; False (nothing appended) when the test loss diverged."""
        nonlocal row_time
        test_loss, extra = evaluate(task, model, test)
        if not test_loss <= loss_limit(task, config):
            return False
        now = time.perf_counter()
        n = run["since_row"]
        row = {"step": step,
               "train_loss": run["loss_sum"] / n if n else math.nan,
               "test_loss": test_loss,
               "accuracy": extra.pop("accuracy"),
               "baseline_loss": task.baseline_loss,
               "rel_loss": test_loss / task.baseline_loss,
               "grad_norm": run["norm_sum"] / n if n else math.nan,
               "wall_time": now - start,
               "steps_per_s": n / (now - row_time) if n else math.nan,
               **extra}
        run["metrics"].append(row)
        run["loss_sum"] = run["norm_sum"] = 0.0
        run["since_row"] = 0
        row_time = now
        return True

    def result(status, step, diverged_at=None, solved=None):
        return TrainResult(status, step, diverged_at, run["metrics"], run["gradnorms"], config, solved)

    if run["step"] == 0 and not run["metrics"]:
        if not add_row(0):
            return result("diverged", 0, 0)
        run["gradnorms"] += gradnorm_rows(task, probed(), probe, 0)
    for step in range(run["step"] + 1, steps + 1):
        loss, norm = train_step(task, model, optimizer, task.batch(rng, config["batch"]), config)
        run["step"] = step
        if not math.isfinite(norm):
            return result("diverged", step, step)
        run["loss_sum"] += loss
        run["norm_sum"] += norm
        run["since_row"] += 1
        solved = None
        if step % eval_every == 0 or step == steps:
            if not add_row(step):
                return result("diverged", step, step)
            if criterion is not None:
                solved = solved_at(run["metrics"], criterion, config["solve_patience"])
        last = step == steps or solved is not None
        if step % gradnorm_every == 0 or last:
            run["gradnorms"] += gradnorm_rows(task, probed(), probe, step)
        if ckpt_every and step % ckpt_every == 0 and not last:
            run["elapsed"] = time.perf_counter() - start
            checkpoint.save(copy.deepcopy({"params": model.state_dict(), "optimizer": optimizer.state,
                                           "rng": rng.bit_generator.state, "run": run}))
        if progress is not None:
            progress(step, steps, loss, (step - session_step) / (time.perf_counter() - session_start))
        if solved is not None:
            return result("done", step, solved=solved)
    return result("done", run["step"])
