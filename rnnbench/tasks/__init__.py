"""Task registry: make_task(config) -> a Task (see rnnbench.tasks.base for the interface every task has)."""
from rnnbench.errors import InputError
from rnnbench.tasks.adding import Adding
from rnnbench.tasks.base import Batch, SolveCriterion, Task
from rnnbench.tasks.copy import Copy
from rnnbench.tasks.forecasting import Forecasting
from rnnbench.tasks.timing import Timing

TASKS = {
    "adding": lambda c: Adding(c["seq_len"], c["adding_variant"]),
    "copy": lambda c: Copy(c["seq_len"]),
    "timing": lambda c: Timing(c["seq_len"]),
    "forecasting": lambda c: Forecasting(c["seq_len"], c["series"], c["horizon"]),
}

CLASSES = {"adding": Adding, "copy": Copy, "timing": Timing, "forecasting": Forecasting}

__all__ = ["TASKS", "Batch", "SolveCriterion", "Task", "make_task", "solve_criterion"]


def make_task(config):
    """The task a normalized config names."""
    if config["task"] not in TASKS:
        raise InputError(f"unknown task {config['task']!r}; expected one of {', '.join(TASKS)}")
    return TASKS[config["task"]](config)


def solve_criterion(task):
    """The SolveCriterion of the task named `task`, or None when it has none (forecasting)."""
    return CLASSES[task].solve_criterion
