"""Every asv benchmark runs once, at its smallest parameters, so a broken benchmark fails the test suite.

Mirrors asv's discovery (public classes of each benchmarks/ module, methods named time_, peakmem_,
track_ ...) and its protocol: setup(*params), the method, teardown(*params); NotImplementedError from
setup is asv's "skip". By the convention of benchmarks/common.py the first value of every parameter list
is the smallest. No timing is checked: only that each runs, and that track_ values are finite numbers.
"""
import importlib
import inspect
import math
import pkgutil

import pytest

import benchmarks

KINDS = ("time_", "timeraw_", "peakmem_", "mem_", "track_")


def _benchmarks():
    for info in pkgutil.iter_modules(benchmarks.__path__):
        module = importlib.import_module(f"benchmarks.{info.name}")
        for name, cls in vars(module).items():
            if name.startswith("_") or not inspect.isclass(cls):
                continue
            for method in sorted(a for a in dir(cls) if a.startswith(KINDS)):
                yield pytest.param(cls, method, id=f"{info.name}.{name}.{method}")


def _smallest(cls):
    params = getattr(cls, "params", [])
    if not params:
        return ()
    if not isinstance(params[0], (list, tuple)):   # asv allows one bare list for one parameter
        params = [params]
    return tuple(values[0] for values in params)


CASES = list(_benchmarks())


def test_every_module_has_benchmarks():
    modules = {case.id.split(".")[0] for case in CASES}
    assert modules == {info.name for info in pkgutil.iter_modules(benchmarks.__path__)} - {"common"}


@pytest.mark.parametrize("cls, method", CASES)
def test_benchmark_runs(cls, method):
    params = _smallest(cls)
    assert len(params) == len(getattr(cls, "param_names", [])), "params and param_names disagree"
    bench = cls()
    setup, teardown = getattr(bench, "setup", None), getattr(bench, "teardown", None)
    try:
        if setup is not None:
            setup(*params)
    except NotImplementedError as e:
        pytest.skip(f"asv would skip: {e}")
    try:
        value = getattr(bench, method)(*params)
    finally:
        if teardown is not None:
            teardown(*params)
    if method.startswith("track_"):
        assert isinstance(value, (int, float)) and math.isfinite(value), value
