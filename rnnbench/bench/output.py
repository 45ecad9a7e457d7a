"""Bench output: the table printed to the terminal, and bench.csv (the rows) plus bench.json
({"meta", "rows"})."""
import csv
import json
import math
import os

from rnnbench.bench.comparators import COMPARATORS, LABELS
from rnnbench.files import atomic_write_text
from rnnbench.paths import check_dir

# per comparator c: c_time_s (its time) and c_ratio = time_s / c_time_s (below 1: rnnbench is faster), null
# where the row was not compared with c; max_rel_diff is the worst over the comparators, max_rel_diff_with
# names it
ROW_FIELDS = ("cell", "backend", "against", "T", "B", "I", "H", "dtype", "threads", "pass", "time_s",
              "gflops", "repeats", "flop", "max_rel_diff", "max_rel_diff_with",
              *(f"{c}_{k}" for c in COMPARATORS for k in ("time_s", "ratio")))


def _ms(seconds):
    return "-" if seconds is None else f"{seconds * 1e3:.3f}"


def _ratio(value):
    return "-" if value is None else f"{value:.2f}"


def format_table(rows, meta):
    """A fixed-width text table, headed by the machine, the ISA the CPU kernels compiled for, the roofline."""
    against = meta.get("against", [])
    versions = ", ".join(f"{name} {meta[name]}" for name in ("numpy", "numba", *against) if meta.get(name))
    lines = [
        f"# {meta['cpu']}, {meta['cores']} cores, {meta['threads']} threads, {meta['dtype']}; "
        f"CPU kernels compiled for {meta['isa']} ({meta['vector_bits']}-bit vectors, "
        f"LLVM CPU {meta['cpu_name']}); "
        f"{versions}, python {meta['python']}",
        f"# GEMM {'x'.join(map(str, meta['gemm_shape']))}: np.dot float32 {meta['sgemm_gflops']:.1f} "
        f"GFLOP/s, np.dot in @njit {meta['njit_dot_gflops']:.1f}, rnnbench's packed kernel "
        f"{meta['packed_gemm_gflops']:.1f} GFLOP/s (best of {meta['gemm_repeats']} calls); "
        f"%peak = GFLOP/s / the best {meta['dtype']} GEMM ({meta['peak_gflops']:.1f}); "
        + ("; ".join(f"{c} ratio = rnnbench time / {LABELS[c]} time" for c in against)
           + " (< 1: rnnbench faster)" if against else "no comparison (--against none)"),
    ]
    head = ("cell", "T,B,I,H", "pass", "backend", "time ms", "against",
            *(h for c in against for h in (f"{c} ms", f"{c} ratio")), "GFLOP/s", "%peak", "max rel diff")
    body = []
    for r in rows:
        body.append((r["cell"], f"{r['T']},{r['B']},{r['I']},{r['H']}", r["pass"], r["backend"],
                     _ms(r["time_s"]), r["against"],
                     *(v for c in against for v in (_ms(r[f"{c}_time_s"]), _ratio(r[f"{c}_ratio"]))),
                     f"{r['gflops']:.2f}", f"{100 * r['gflops'] / meta['peak_gflops']:.1f}",
                     "-" if r["max_rel_diff"] is None else f"{r['max_rel_diff']:.1e}"))
    widths = [max(len(str(v)) for v in col) for col in zip(head, *body)]
    for values in (head, *body):
        lines.append("  ".join(str(v).rjust(w) for v, w in zip(values, widths)))
    return "\n".join(lines)


def _clean(value):
    # JSON has no NaN: an undefined number is null
    return None if isinstance(value, float) and not math.isfinite(value) else value


def write_results(rows, meta, out_dir):
    """Write out_dir/bench.csv and out_dir/bench.json, each atomically (rnnbench.files); returns their
    paths."""
    check_dir(out_dir, "--out")
    os.makedirs(out_dir, exist_ok=True)
    csv_path, json_path = os.path.join(out_dir, "bench.csv"), os.path.join(out_dir, "bench.json")

    def write_csv(f):
        writer = csv.DictWriter(f, fieldnames=ROW_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)

    def write_json(f):
        json.dump({"meta": {k: _clean(v) for k, v in meta.items()},
                   "rows": [{k: _clean(r[k]) for k in ROW_FIELDS} for r in rows]}, f, indent=1)
    atomic_write_text(csv_path, write_csv)
    atomic_write_text(json_path, write_json)
    return csv_path, json_path
