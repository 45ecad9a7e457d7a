"""`rnnbench report --store runs/ --out reports/NAME/`: the comparison report of a run store.

Writes report.md, report.html (self-contained: opens offline), figures/*.png|svg and tables/*.csv into --out,
which must be new, empty, or an earlier report (it holds nothing else; never the store or a folder above it).
"""
import sys

HELP = "write the comparison report (Markdown + self-contained HTML) of a run store"


def add_arguments(parser):
    parser.add_argument("--store", default="runs", help="run store directory (default: runs)")
    parser.add_argument("--out", default="reports/latest", help="report directory: new, empty, or an earlier "
                        "report, which is replaced whole (default: reports/latest)")
    parser.add_argument("--bench", default=None, help="JSON written by `rnnbench bench` "
                        "(default: <store>/bench.json when it exists)")


def run(args):
    from rnnbench.report import build_report

    command = "rnnbench " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["report"] else None
    path = build_report(args.store, args.out, bench_path=args.bench, command=command)
    print(f"report written to {path} (and report.md beside it)")
    return 0
