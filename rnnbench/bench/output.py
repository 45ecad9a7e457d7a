"""Bench output: the table printed to the terminal, and bench.csv (the rows) plus bench.json ({"meta", "rows"})."""
import csv
import json
import math
import os
import tempfile

from rnnbench.errors import InputError

ROW_FIELDS = ("cell", "backend", "against", "T", "B", "I", "H", "dtype", "threads", "pass", "time_s",
              "against_time_s", "ratio", "gflops", "repeats", "flop", "max_rel_diff")


def _ms(seconds):
    return "-" if seconds is None else f"{seconds * 1e3:.3f}"


def format_table(rows, meta):
    """A fixed-width text table, headed by the machine and the roofline it is read against."""
    lines = [
        f"# {meta['cpu']}, {meta['cores']} cores, {meta['threads']} threads, {meta['dtype']}; "
        f"numpy {meta['numpy']}, numba {meta['numba']}, torch {meta['torch']}, python {meta['python']}",
        f"# GEMM {'x'.join(map(str, meta['gemm_shape']))}: np.dot float32 {meta['sgemm_gflops']:.1f} GFLOP/s, "
        f"np.dot in @njit {meta['njit_dot_gflops']:.1f}, rnnbench's packed kernel {meta['packed_gemm_gflops']:.1f} "
        f"GFLOP/s (best of {meta['gemm_repeats']} calls); "
        f"%peak = GFLOP/s / the best {meta['dtype']} GEMM ({meta['peak_gflops']:.1f}); "
        "ratio = time / against time (< 1: rnnbench faster)",
    ]
    head = ("cell", "T,B,I,H", "pass", "backend", "time ms", "against", "against ms", "ratio", "GFLOP/s",
            "%peak", "max rel diff")
    body = []
    for r in rows:
        body.append((r["cell"], f"{r['T']},{r['B']},{r['I']},{r['H']}", r["pass"], r["backend"],
                     _ms(r["time_s"]), r["against"], _ms(r["against_time_s"]),
                     "-" if r["ratio"] is None else f"{r['ratio']:.2f}", f"{r['gflops']:.2f}",
                     f"{100 * r['gflops'] / meta['peak_gflops']:.1f}",
                     "-" if r["max_rel_diff"] is None else f"{r['max_rel_diff']:.1e}"))
    widths = [max(len(str(v)) for v in col) for col in zip(head, *body)]
    for values in (head, *body):
        lines.append("  ".join(str(v).rjust(w) for v, w in zip(values, widths)))
    return "\n".join(lines)


def _clean(value):
    # JSON has no NaN: an undefined number is null
    return None if isinstance(value, float) and not math.isfinite(value) else value


def check_out_dir(out_dir):
    """InputError now, not after the timing, if out_dir cannot be a directory."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise InputError(f"--out {out_dir!r} exists and is not a directory")


def write_results(rows, meta, out_dir):
    """Write out_dir/bench.csv and out_dir/bench.json atomically (temp file, then rename); returns their paths."""
    check_out_dir(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    paths = {name: os.path.join(out_dir, name) for name in ("bench.csv", "bench.json")}
    temps = {}
    try:
        for name in paths:
            fd, temps[name] = tempfile.mkstemp(prefix=f".{name}.", dir=out_dir)
            os.chmod(temps[name], 0o644)    # mkstemp's 0600 would hide results from other users
            with os.fdopen(fd, "w", newline="") as f:
                if name == "bench.csv":
                    writer = csv.DictWriter(f, fieldnames=ROW_FIELDS, extrasaction="ignore")
                    writer.writeheader()
                    writer.writerows(rows)
                else:
                    json.dump({"meta": {k: _clean(v) for k, v in meta.items()},
                               "rows": [{k: _clean(r[k]) for k in ROW_FIELDS} for r in rows]}, f, indent=1)
        for name, path in paths.items():
            os.replace(temps.pop(name), path)
    finally:
        for temp in temps.values():
            os.unlink(temp)
    return paths["bench.csv"], paths["bench.json"]
