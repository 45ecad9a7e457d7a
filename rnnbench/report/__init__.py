"""The comparison report: a run store (and optional bench JSON) -> figures, tables, report.md, report.html.

    from rnnbench.report import build_report
    build_report("runs/", "reports/mine/")      # or: rnnbench report --store runs/ --out reports/mine/

aggregate.py turns the store's DataFrames into tidy tables, figures.py and tables.py draw and format them,
claims.py decides the notes' claims, sections.py puts it all in order, render.py writes the pages.
"""
import datetime
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path

from rnnbench.errors import InputError

TITLE = "rnnbench report"


def build_report(store_root, out_dir, *, bench_path=None, command=None):
    """Write the report for the store at `store_root` into `out_dir` (created or replaced whole) and return
    the path of report.html. bench_path defaults to <store_root>/bench.json when that file exists."""
    from rnnbench import store
    from rnnbench.report.walltime import load_sessions

    store_root, out_dir = Path(store_root), Path(out_dir)
    if not store_root.is_dir():
        raise InputError(f"store {str(store_root)!r} is not a directory")
    if bench_path is not None and not Path(bench_path).is_file():
        raise InputError(f"bench file {str(bench_path)!r} does not exist")
    bench_path = Path(bench_path) if bench_path else store_root / "bench.json"
    bench = _load_bench(bench_path) if bench_path.is_file() else None
    runs = store.load_runs(store_root)
    ids = list(runs["run_id"]) if len(runs) else []
    metrics = store.load_metrics(store_root, ids) if ids else None
    gradnorms = store.load_gradnorms(store_root, ids) if ids else None
    return build_from_frames(runs, metrics, gradnorms, bench, out_dir,
                             source=f"{store_root}", command=command, sessions=load_sessions(store_root))


def _load_bench(path):
    try:
        bench = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"bench file {str(path)!r} is not readable JSON ({e})") from None
    if not isinstance(bench, dict) or not isinstance(bench.get("rows"), list):
        raise InputError(f"bench file {str(path)!r} has no 'rows' list")
    return bench


def build_from_frames(runs, metrics, gradnorms, bench, out_dir, *, source="", command=None, sessions=None):
    """The report from store frames (None or empty for a store without them) into out_dir, atomically."""
    from rnnbench.report import figures, render, tables
    from rnnbench.report.aggregate import aggregate, aggregate_runs
    from rnnbench.report.sections import build_sections

    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / "report.html").exists():
        raise InputError(f"output directory {str(out_dir)!r} exists and is not a report; choose another --out")
    a = aggregate(runs, metrics, gradnorms, bench, sessions)
    sections = build_sections(a)
    meta = _meta(a, aggregate_runs(runs), source, command)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        figs = [item for s in sections for item in s.items if isinstance(item, figures.Figure)]
        paths = figures.save(figs, tmp)
        tables.save_csv([item for s in sections for item in s.items if isinstance(item, tables.Table)], tmp)
        render.write_markdown(tmp / "report.md", TITLE, meta, sections, paths)
        render.write_html(tmp / "report.html", TITLE, meta, sections, tmp, paths)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
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
                   f"Python {platform.python_version()}, NumPy {numpy.__version__}, Numba {numba.__version__}",
    }
