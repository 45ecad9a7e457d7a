"""`rnnbench bench`: time rnnbench backends against PyTorch and JAX per cell, shape and pass; print a table,
write CSV + JSON.

    rnnbench bench --backends cpu --against torch,jax --threads 2 --out bench-out/
    rnnbench bench --quick --cells lstm,gru --shapes "100,64,2,128" --dtype float64
    rnnbench bench --passes train-step --cells lstm --threads 1      # one optimizer step of the adding model
"""
import sys

HELP = ("time rnnbench backends against PyTorch and JAX (forward, forward+backward, a training step); "
        "table, bench.csv, bench.json")


def add_arguments(parser):
    parser.add_argument("--backends", default="cpu", help="comma list of reference, cpu, cuda (default cpu)")
    parser.add_argument("--against", default="torch,jax",
                        help="comma list of torch, jax (default torch,jax; jax is skipped where not "
                             "installed), or none")
    parser.add_argument("--cells", default=None,
                        help="comma list, each with its default nonlinearity (rnn: tanh); default: every "
                             "cell that all --backends implement")
    parser.add_argument("--shapes", default=None,
                        help='"T,B,I,H;T,B,I,H" (default: '
                             '1000,64,2,128;200,128,10,128;100,64,128,512;100,1,2,128)')
    parser.add_argument("--passes", default="forward,forward+backward,train-step",
                        help="comma list of forward, forward+backward (one layer, at --shapes) and "
                             "train-step (one optimizer step of the adding model, at --train-shape); default "
                             "all three")
    parser.add_argument("--train-shape", default=None,
                        help='"T,B,H" of the train-step pass (default 400,50,128; 100,50,128 with --quick)')
    parser.add_argument("--dtype", default="float32", help="float32 (default) or float64")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads for Numba, BLAS, PyTorch and JAX (default 2)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed calls per measurement, median reported (default 7, 3 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="shorter sequences and fewer repeats: a fast subset")
    parser.add_argument("--out", default=None, help="directory to write bench.csv and bench.json into")


def run(args):
    from rnnbench.bench import (DEFAULT_SHAPES, QUICK_SHAPES, QUICK_TRAIN_SHAPE, TRAIN_SHAPE, format_table,
                                run_bench, write_results)
    from rnnbench.bench.options import parse_list, parse_shapes, parse_train_shape
    from rnnbench.paths import check_dir

    if args.out is not None:
        check_dir(args.out, "--out")        # before the timing, not after it
    if args.shapes is not None:
        shapes = parse_shapes(args.shapes)
    else:
        shapes = QUICK_SHAPES if args.quick else DEFAULT_SHAPES
    if args.train_shape is not None:
        train_shape = parse_train_shape(args.train_shape)
    else:
        train_shape = QUICK_TRAIN_SHAPE if args.quick else TRAIN_SHAPE
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 7)
    cells = None if args.cells is None else parse_list(args.cells)
    rows, meta = run_bench(cells=cells, shapes=shapes, backends=parse_list(args.backends),
                           against=args.against, dtype=args.dtype, threads=args.threads, repeats=repeats,
                           passes=parse_list(args.passes), train_shape=train_shape,
                           progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(format_table(rows, meta))
    if args.out is not None:
        for path in write_results(rows, meta, args.out):
            print(f"wrote {path}", file=sys.stderr)
    return 0
