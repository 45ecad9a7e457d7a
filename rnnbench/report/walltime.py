"""How long `rnnbench reproduce` took on a store, beside what it estimated: <store>/reproduce.json and the
store's own file times.

reproduce appends one session per invocation: when it started, how long it spent timing run shapes for the
estimate, the estimate (sweep and bench), and, once it gets there, the measured seconds of the sweep and the
bench and when it finished (and the load it saw: processes running besides it, the share of a core it expected
per worker, the load averages). A session killed before its end has no `finished`: its end is the newest run
written after it started (and before the next session started), and its measured time runs from its start to
then, less its calibration. Each session also has its busy time: how long at least one of its runs was going
(from each run's end and wall_time), which leaves out time no run of the suite used (a killed start whose runs
were lost, pauses). A run's end is its status.json's `finished_at` (the file's mtime for runs made before that
field existed); the next reproduce writes both a killed session's end (`ended`) and every session's busy time
(`busy_s`) into reproduce.json, since file times do not survive a copy or a git checkout of the store.
"""
import datetime
import json
from pathlib import Path

import pandas as pd

COLUMNS = ["started", "suite", "workers", "runs_to_run", "calibration_s", "others_running", "cpu_share",
           "estimate_s", "measured_s", "measured_over_estimate", "bench_s", "busy_s", "end_from",
           "loadavg_start", "loadavg_end"]


def load_sessions(store_root):
    """The sessions of <store>/reproduce.json (each with `last_status_write`, the POSIX time of the newest
    run written during it, or its recorded `ended`); [] when the store has none or the file is unreadable."""
    try:
        sessions = json.loads((Path(store_root) / "reproduce.json").read_text())["sessions"]
        return _with_ends(sessions, store_root)
    except (OSError, ValueError, KeyError, TypeError):
        return []


def close_sessions(sessions, store_root):
    """sessions with what file times alone would tell written into them: `ended` (UTC, ISO 8601) on each
    killed one (no `finished`) that wrote a run, and `busy_s` on each that wrote a run."""
    out = []
    for s in _with_ends(sessions, store_root):
        end = s.pop("last_status_write")
        if "finished" not in s and "ended" not in s and end is not None:
            s["ended"] = datetime.datetime.fromtimestamp(end, datetime.timezone.utc).isoformat(
                timespec="seconds")
        if s["busy_s"] is None:
            del s["busy_s"]
        out.append(s)
    return out


def _with_ends(sessions, store_root):
    """Each session with `last_status_write` (see load_sessions) and `busy_s`: the time at least one of its
    runs was going (the union of [written - wall_time, written] over the runs it wrote, from its start), or
    None when it wrote none."""
    starts = [_time(s["started"]) for s in sessions]
    runs = sorted(_written(p) for p in Path(store_root).glob("*/status.json"))
    out = []
    for i, s in enumerate(sessions):
        until = starts[i + 1] if i + 1 < len(starts) else float("inf")
        during = [(t, wall) for t, wall in runs if starts[i] <= t < until]
        last = _time(s["ended"]) if "ended" in s else during[-1][0] if during else None
        spans = [(max(starts[i], t - wall), t) for t, wall in during]
        busy = s.get("busy_s", _union(spans) if spans else None)
        out.append({**s, "last_status_write": last, "busy_s": busy})
    return out


def _union(intervals):
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        total += max(0.0, b - max(a, end))
        end = max(end, b)
    return total


def _written(status_path):
    """(when the run's status.json was written: its `finished_at`, else the file's mtime; its wall_time)."""
    try:
        info = json.loads(status_path.read_text())
    except (OSError, ValueError):
        info = {}
    info = info if isinstance(info, dict) else {}
    wall = info.get("wall_time")
    wall = wall if isinstance(wall, (int, float)) else 0.0
    try:
        return _time(info["finished_at"]), wall
    except (KeyError, TypeError, ValueError):
        return status_path.stat().st_mtime, wall


def _time(iso):
    return datetime.datetime.fromisoformat(iso).timestamp()


def session_table(sessions):
    """One row per session: its estimate (sweep + bench) and the measured time of the same part: sweep +
    bench as reproduce measured them, or for a killed session its start to its last status.json, less
    calibration."""
    rows = []
    for s in sessions:
        if s.get("sweep_s") is not None and s.get("bench_s") is not None:
            measured, end_from = s["sweep_s"] + s["bench_s"], "reproduce finished"
        elif s.get("last_status_write") is not None:
            measured = s["last_status_write"] - _time(s["started"]) - s.get("calibration_s", 0.0)
            end_from = "killed: last status.json written"
        else:
            measured, end_from = float("nan"), "killed before any run finished"
        est = s.get("estimate_s", float("nan"))
        rows.append({"started": s["started"], "suite": s.get("suite"), "workers": s.get("workers"),
                     "runs_to_run": s.get("runs_to_run"), "calibration_s": s.get("calibration_s"),
                     "others_running": s.get("others_running"), "cpu_share": s.get("cpu_share"),
                     "estimate_s": est, "measured_s": measured,
                     "measured_over_estimate": measured / est if est else float("nan"),
                     "bench_s": s.get("bench_s"), "busy_s": s.get("busy_s"), "end_from": end_from,
                     "loadavg_start": s.get("loadavg_start"), "loadavg_end": s.get("loadavg_end")})
    return pd.DataFrame(rows, columns=COLUMNS)


def summary(table):
    """One sentence: the first session's estimate (the whole suite, from an empty store) against the measured
    time summed over every session, and against the time runs were going."""
    if table.empty:
        return None
    est, measured = table["estimate_s"].iloc[0], table["measured_s"].sum(min_count=1)
    busy = table["busy_s"].astype(float).sum(min_count=1)
    n = len(table)
    text = (f"Estimated before the first session: {_hours(est)} for the sweep and the bench; measured: "
            f"{_hours(measured)}, added up over {n} session{'s' * (n > 1)} "
            f"({measured / est:.2f}× the estimate)")
    bench = float(table["bench_s"].astype(float).sum())
    worked = busy + bench
    if worked == worked and abs(worked - measured) > 0.01 * measured:
        text += (f". Of that, runs were going for {_hours(busy)} and the bench took {_hours(bench)}: "
                 f"{_hours(worked)} ({worked / est:.2f}× the estimate); the rest is time no run of the suite "
                 f"used (a start killed with its runs lost, pauses)")
    return text + "."


def _hours(seconds):
    if seconds >= 3600:
        return f"{seconds / 3600:.2f} h ({seconds:.0f} s)"
    return f"{seconds / 60:.1f} min ({seconds:.0f} s)"
