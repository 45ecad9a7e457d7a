"""The comparison report: a run store (and optional bench JSON) -> figures, tables, report.md, report.html.

    from rnnbench.report import build_report
    build_report("runs/", "reports/mine/")      # or: rnnbench report --store runs/ --out reports/mine/

aggregate.py turns the store's DataFrames into tidy tables, figures.py and tables.py draw and format them,
claims.py decides the notes' claims, sections.py puts it all in order, render.py writes the pages and
folder.py keeps --out a folder that holds only a report, replaced whole.
"""
import datetime
import json
import os
import platform
from pathlib import Path

from rnnbench.errors import InputError
from rnnbench.report.folder import check_out, replacing

TITLE = "rnnbench report"


def build_report(store_root, out_dir, *, bench_path=None, command=None):
    """Write the report for the store at `store_root` into `out_dir` (created, or replaced whole when it
    holds an earlier report: rnnbench.report.folder) and return the path of report.html. bench_path
    defaults to <store_root>/bench.json when that file exists. Unreadable runs are named on stderr, one
    line each; a store with unreadable runs and no readable one is an InputError."""
    from rnnbench import store
    from rnnbench.paths import check_existing_dir
    from rnnbench.report.walltime import load_sessions

    store_root = check_existing_dir(store_root, "store")
    out_dir = check_out(out_dir, store_root)
    if bench_path is not None and not Path(bench_path).is_file():
        raise InputError(f"bench file {str(bench_path)!r} does not exist or is not a file")
    bench_path = Path(bench_path) if bench_path else store_root / "bench.json"
    bench = _load_bench(bench_path) if bench_path.is_file() else None
    runs = store.load_runs(store_root, f"store {str(store_root)!r}")
    ids = list(runs["run_id"]) if len(runs) else []
    metrics = store.load_metrics(store_root, ids) if ids else None
    gradnorms = store.load_gradnorms(store_root, ids) if ids else None
    return build_from_frames(runs, metrics, gradnorms, bench, out_dir,
                             source=f"{store_root}", command=command, sessions=load_sessions(store_root))


# what speed_table and the speed section read from each row of `rnnbench bench` JSON: a time per comparing
# framework (<framework>_time_s; rows written before those columns carry one against_time_s instead)
_BENCH_TEXT = ("cell", "backend", "against", "pass", "dtype")
_BENCH_INT = ("T", "B", "I", "H", "threads")


def _bench_row_problem(row):
    if not isinstance(row, dict):
        return f"is not an object ({type(row).__name__})"
    for key in _BENCH_TEXT + _BENCH_INT + ("time_s",):
        if key not in row:
            return f"has no {key!r}"
    for key in _BENCH_TEXT:
        if not isinstance(row[key], str):
            return f"{key!r} is not a string"
    for key in _BENCH_INT:
        if type(row[key]) is not int or row[key] < 1:
            return f"{key!r} is not a positive integer"
    for key in ["time_s"] + [k for k in row if k.endswith("_time_s")]:
        value = row[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not value > 0):
            return f"{key!r} is not a positive number or null"
    return None


def _load_bench(path):
    try:
        bench = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"bench file {str(path)!r} is not readable JSON ({e})") from None
    if not isinstance(bench, dict) or not isinstance(bench.get("rows"), list):
        raise InputError(f"bench file {str(path)!r} has no 'rows' list")
    if not isinstance(bench.get("meta", {}), dict):
        raise InputError(f"bench file {str(path)!r}: 'meta' is not an object")
    for i, row in enumerate(bench["rows"]):
        problem = _bench_row_problem(row)
        if problem:
            raise InputError(f"bench file {str(path)!r}: row {i} {problem} "
                             "(not written by `rnnbench bench`?)")
    return bench


def build_from_frames(runs, metrics, gradnorms, bench, out_dir, *, source="", command=None, sessions=None):
    """The report from store frames (None or empty for a store without them) into out_dir, replaced whole
    or not at all (rnnbench.report.folder)."""
    from rnnbench.report import figures, render, tables
    from rnnbench.report.aggregate import aggregate, aggregate_runs
    from rnnbench.report.sections import build_sections

    out_dir = check_out(out_dir)
    a = aggregate(runs, metrics, gradnorms, bench, sessions)
    import matplotlib.pyplot as plt
    with plt.rc_context({"figure.max_open_warning": 0}):   # every figure is open until saved below
        sections = build_sections(a)
    meta = _meta(a, aggregate_runs(runs), source, command)
    with replacing(out_dir) as tmp:
        figs = [item for s in sections for item in s.items if isinstance(item, figures.Figure)]
        paths = figures.save(figs, tmp)
        tables.save_csv([item for s in sections for item in s.items if isinstance(item, tables.Table)], tmp)
        render.write_markdown(tmp / "report.md", TITLE, meta, sections, paths)
        render.write_html(tmp / "report.html", TITLE, meta, sections, tmp, paths)
    return out_dir / "report.html"


def _meta(a, all_runs, source, command):
    import numba
    import numpy

    n_failed = len(a.failed)
    if not len(a.runs) and not n_failed:
        status = ("The store holds no finished runs: there is nothing to report yet. Run "
                  "`rnnbench reproduce --quick` or `rnnbench sweep` first.")
    elif not len(a.runs):
        status = (f"All {n_failed} finished runs in the store failed; nothing was measured. "
                  f"First error: {a.failed['error'].iloc[0]}")
    else:
        counts = all_runs["status"].value_counts()
        status = ", ".join(f"{n} {s}" for s, n in counts.items()) + (
            f" (first error: {a.failed['error'].iloc[0]})" if n_failed else "")
    return {
        "runs": status,
        "store": source,
        "command": command or "(built through the Python API)",
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, "
                   f"Python {platform.python_version()}, NumPy {numpy.__version__}, "
                   f"Numba {numba.__version__}",
    }
