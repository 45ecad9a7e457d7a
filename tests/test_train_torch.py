"""One end-to-end training step (batch, forward, loss, backward, clipping, optimizer) against the same step
in PyTorch from the same weights: the parameters after the step agree to 1e-5 (float32, cpu backend)."""
import numpy as np
import pytest
import torch

from rnnbench.config import normalize
from rnnbench.train import build, train_step


def torch_twin(model):
    """nn.RNN/GRU/LSTM subclass with a `readout` nn.Linear, loaded from our state_dict (strict keys)."""
    rnn = model.rnn
    base = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[rnn.cell]
    kw = {"nonlinearity": rnn.nonlinearity} if rnn.cell == "rnn" else {}

    class Twin(base):
        def __init__(self):
            super().__init__(rnn.input_size, rnn.hidden_size, rnn.num_layers, **kw)
            self.readout = torch.nn.Linear(rnn.hidden_size, model.output_size)

    twin = Twin()
    twin.load_state_dict({k: torch.tensor(v) for k, v in model.state_dict().items()})
    return twin


def torch_optimizer(twin, config):
    return {"sgd": lambda p: torch.optim.SGD(p, lr=config["lr"], momentum=config["momentum"]),
            "rmsprop": lambda p: torch.optim.RMSprop(p, lr=config["lr"], alpha=0.9),
            "adam": lambda p: torch.optim.Adam(p, lr=config["lr"])}[config["optimizer"]](twin.parameters())


def torch_step(twin, opt, task, batch, config):
    opt.zero_grad()
    out, h = twin(torch.tensor(batch.x, dtype=torch.float32))
    h_n = h[0] if isinstance(h, tuple) else h
    if task.readout == "last":
        loss = torch.nn.functional.mse_loss(twin.readout(h_n[-1]),
                                            torch.tensor(batch.target, dtype=torch.float32))
    else:
        logits = twin.readout(out)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 torch.tensor(batch.target).reshape(-1))
    loss.backward()
    if config["clip_mode"] == "norm":
        torch.nn.utils.clip_grad_norm_(twin.parameters(), config["clip"])
    elif config["clip_mode"] == "value":
        torch.nn.utils.clip_grad_value_(twin.parameters(), config["clip"])
    opt.step()
    return loss.item()


@pytest.mark.parametrize("raw", [
    {"task": "adding", "cell": "lstm", "optimizer": "adam", "clip": 0.05},
    # Adam's and RMSProp's first steps hardly depend on the gradient's scale; SGD's do (clipping active)
    {"task": "adding", "cell": "lstm", "optimizer": "sgd", "lr": 0.5, "clip": 0.05},
    {"task": "copy", "cell": "gru", "optimizer": "rmsprop", "clip": 0.5, "clip_mode": "value"},
    {"task": "timing", "cell": "rnn", "nonlinearity": "relu", "optimizer": "sgd", "lr": 0.1,
     "init": "identity"},
    {"task": "forecasting", "series": "sunspots", "cell": "lstm", "layers": 2, "optimizer": "adam",
     "init": "orthogonal", "forget_bias": 1.0, "clip": 0.0},
])
def test_training_step_matches_torch(raw):
    config = normalize({"seq_len": 12, "hidden": 16, "batch": 8, "test_size": 8, "backend": "cpu", **raw})
    task, model, optimizer, rng, _ = build(config)
    twin = torch_twin(model)
    topt = torch_optimizer(twin, config)
    for _ in range(2):          # the second step also checks the optimizers' state
        batch = task.batch(rng, config["batch"])
        loss, _ = train_step(task, model, optimizer, batch, config)
        assert loss == pytest.approx(torch_step(twin, topt, task, batch, config), rel=1e-5)
        theirs = twin.state_dict()
        for key, value in model.state_dict().items():
            np.testing.assert_allclose(value, theirs[key].numpy(), rtol=1e-5, atol=1e-5, err_msg=key)
