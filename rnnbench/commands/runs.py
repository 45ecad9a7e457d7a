"""`rnnbench runs --store runs/`: list the runs in a store as a table (the same as rnnbench.store.load_runs).

    rnnbench runs --store runs/ --status failed
    rnnbench runs --store runs/ --where cell=lstm,gru --where seq_len=100 --columns run_id,cell,seed,status

By default the table shows the config keys that differ between the listed runs and the last metrics row
of each finished run (final_test_loss, final_rel_loss, final_accuracy). A run that cannot be read (a damaged
file, a config that does not hash to its id, a link) is named on stderr, one line each; the exit code is 2
when the store has such runs and no readable one.
"""
HELP = "list the runs in a run store as a table, with filters"

BASE_COLUMNS = ["run_id", "status", "steps_done", "wall_time"]
FINAL = ["test_loss", "rel_loss", "accuracy"]       # from each run's last metrics row


def add_arguments(parser):
    parser.add_argument("--store", required=True, help="run store directory")
    parser.add_argument("--status", help="only runs with this status (done, diverged, failed, running, "
                                         "incomplete; comma-separated for several)")
    parser.add_argument("--where", action="append", default=[], metavar="KEY=VALUE[,VALUE...]",
                        help="only runs whose column KEY equals one of the values (repeatable)")
    parser.add_argument("--columns", help="comma-separated columns to show (default: status and the config "
                                          "keys that vary)")
    parser.add_argument("--csv", action="store_true", help="print CSV instead of a table")


def _filter(runs, key, values):
    import pandas as pd

    from rnnbench.errors import InputError

    if key not in runs.columns:
        raise InputError(f"--where {key}: no such column; columns are {', '.join(runs.columns)}")
    column = runs[key]
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        try:
            wanted = [float(v) for v in values]
        except ValueError:
            raise InputError(f"--where {key}: {key} is numeric, got {','.join(values)!r}") from None
        return runs[column.isin(wanted)]
    return runs[column.astype(str).isin(values)]


def run(args):
    import pandas as pd

    from rnnbench import store
    from rnnbench.errors import InputError
    from rnnbench.paths import check_existing_dir

    root = check_existing_dir(args.store, "--store")
    runs = store.load_runs(root, f"--store {args.store!r}")
    last = store.load_metrics(root, list(runs["run_id"])).groupby("run_id").tail(1)
    final = last.reindex(columns=["run_id"] + FINAL).rename(columns={k: f"final_{k}" for k in FINAL})
    runs = runs.merge(final, on="run_id", how="left")
    filters = [("status", args.status)] if args.status else []
    for item in args.where:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--where {item!r}: expected KEY=VALUE")
        filters.append((key, value))
    for key, value in filters:
        runs = _filter(runs, key, value.split(","))
    if args.columns:
        columns = args.columns.split(",")
        unknown = [c for c in columns if c not in runs.columns]
        if unknown:
            raise InputError(f"--columns: no column {unknown[0]!r}; columns are {', '.join(runs.columns)}")
    else:
        results = list(final.columns[1:])
        config_keys = [c for c in runs.columns if c not in BASE_COLUMNS + results + ["error"]]
        varying = [c for c in config_keys if runs[c].astype(str).nunique(dropna=False) > 1]
        columns = BASE_COLUMNS + varying + results + (["error"] if runs["error"].notna().any() else [])
        runs = runs.sort_values(varying, kind="stable", na_position="first")
    table = runs[columns] if len(runs) else pd.DataFrame(columns=columns)
    if args.csv:
        print(table.to_csv(index=False), end="")
    elif table.empty:
        print("no runs")
    else:
        print(table.to_string(index=False))
    return 0
