"""Task registry: make_task(config) -> a Task (see rnnbench.tasks.base for the interface every task has).

TASKS is the one list of tasks: name -> Task class; config, CLI and sweeps derive theirs from it.
"""
from rnnbench.errors import InputError
from rnnbench.tasks.adding import Adding
from rnnbench.tasks.base import Batch, SolveCriterion, Task
from rnnbench.tasks.copy import Copy
from rnnbench.tasks.forecasting import Forecasting
from rnnbench.tasks.timing import Timing

TASKS = {"adding": Adding, "copy": Copy, "timing": Timing, "forecasting": Forecasting}

__all__ = ["TASKS", "Batch", "SolveCriterion", "Task", "make_task", "solve_criterion"]


def make_task(config):
    """The task a normalized config names."""
    if config["task"] not in TASKS:
        raise InputError(f"unknown task {config['task']!r}; expected one of {', '.join(TASKS)}")
    return TASKS[config["task"]].from_config(config)


def solve_criterion(task):
    """The SolveCriterion of the task named `task`, or None when it has none (forecasting)."""
    return TASKS[task].solve_criterion
