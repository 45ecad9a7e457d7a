"""`rnnbench bench`: output structure and arithmetic, bad input, and the PyTorch peephole comparator as an
oracle.

No timing is asserted: only that the numbers reported are consistent with their definitions, and that
the comparators compute what rnnbench computes.
"""
import csv
import importlib.util
import itertools
import json
import sys
import time

import numpy as np
import pytest
import torch

from rnnbench.bench import run_bench, timing
from rnnbench.bench.timing import time_interleaved
from rnnbench.bench.torch_cells import TorchPeephole
from rnnbench.cli import main
from rnnbench.kernels.cpu import isa
from rnnbench.network import RNN
from rnnbench.report import build_from_frames

HAS_JAX = importlib.util.find_spec("jax") is not None
META_KEYS = {"cpu", "cores", "threads", "python", "numpy", "numba", "torch", "jax", "dtype", "date",
             "sgemm_gflops", "njit_dot_gflops", "packed_gemm_gflops", "isa", "vector_bits", "cpu_name",
             "against", "passes"}
ROW_KEYS = {"cell", "backend", "against", "T", "B", "I", "H", "dtype", "threads", "pass", "time_s", "gflops",
            "repeats", "flop", "max_rel_diff", "max_rel_diff_with", "torch_time_s", "torch_ratio",
            "jax_time_s", "jax_ratio"}
# matrix-product FLOP of one layer on (T, B, I) = (5, 2, 3), H = 4, written out from the definition:
# forward 2*T*B*I*G*H + 2*T*B*H*G*H = 60*G*H + 80*G*H = 140*G*H; forward+backward three times that; indrnn's
# recurrence is elementwise: 2*T*B*I*H + 2*T*B*H = 60*H + 20*H = 80*H
FLOP = {"rnn": 140 * 4, "gru": 140 * 12, "lstm": 140 * 16, "peephole": 140 * 16, "indrnn": 80 * 4}
# the train-step pass at (T, B, H) = (6, 3, 5) on the adding task (I = 2): 3 * (2*6*3*2*G*5 + 2*6*3*5*G*5);
# indrnn: 3 * (2*6*3*2*5 + 2*6*3*5)
TRAIN_FLOP = {"rnn": 3780 * 1, "gru": 3780 * 3, "lstm": 3780 * 4, "peephole": 3780 * 4, "indrnn": 1620}


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    # one thread: on a loaded CI machine multi-threaded OpenMP runs can stall for seconds per call
    argv = ["bench", "--backends", "reference,cpu", "--shapes", "5,2,3,4", "--train-shape", "6,3,5",
            "--repeats", "1", "--threads", "1", "--out", str(out)]
    import io
    from contextlib import redirect_stderr, redirect_stdout
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = main(argv)
    return code, stdout.getvalue(), stderr.getvalue(), out


def test_bench_writes_table_csv_and_json(bench_run):
    code, stdout, stderr, out = bench_run
    assert code == 0
    doc = json.loads((out / "bench.json").read_text(), parse_constant=lambda c: pytest.fail(f"JSON has {c}"))
    meta, rows = doc["meta"], doc["rows"]
    assert META_KEYS <= set(meta) and meta["threads"] == 1 and meta["dtype"] == "float32"
    assert meta["sgemm_gflops"] > 0 and meta["njit_dot_gflops"] > 0 and meta["packed_gemm_gflops"] > 0
    against = ["torch", "jax"] if HAS_JAX else ["torch"]
    assert meta["against"] == against and meta["passes"] == ["forward", "forward+backward", "train-step"]
    assert len(rows) == len(FLOP) * 3 * 2               # cells x passes x backends
    assert {(r["cell"], r["pass"], r["backend"]) for r in rows} == {
        (c, p, b) for c in FLOP for p in ("forward", "forward+backward", "train-step")
        for b in ("reference", "cpu")}
    for r in rows:
        assert ROW_KEYS <= set(r)
        shape = (6, 3, 2, 5) if r["pass"] == "train-step" else (5, 2, 3, 4)
        assert ((r["T"], r["B"], r["I"], r["H"], r["dtype"], r["threads"], r["repeats"])
                == (*shape, "float32", 1, 1))
        # the train step is compared with PyTorch only; the layer passes with every framework installed
        compared = ["torch"] if r["pass"] == "train-step" else against
        assert r["against"] == ",".join(compared)
        for name in ("torch", "jax"):
            if name in compared:
                assert r[f"{name}_ratio"] == pytest.approx(r["time_s"] / r[f"{name}_time_s"], rel=1e-12)
            else:
                assert r[f"{name}_time_s"] is None and r[f"{name}_ratio"] is None
        flop = TRAIN_FLOP[r["cell"]] if r["pass"] == "train-step" else FLOP[r["cell"]] * (
            1 if r["pass"] == "forward" else 3)
        assert r["flop"] == flop
        assert r["gflops"] == pytest.approx(flop / r["time_s"] / 1e9, rel=1e-12)
        # the backend and every framework computed the same outputs (gradients, updates) before being timed
        assert r["max_rel_diff"] < 1e-4 and r["max_rel_diff_with"] in compared
    with open(out / "bench.csv", newline="") as f:
        csv_rows = list(csv.DictReader(f))
    assert len(csv_rows) == len(rows)
    for c, j in zip(csv_rows, rows):
        assert (c["cell"] == j["cell"] and c["pass"] == j["pass"]
                and float(c["torch_ratio"]) == j["torch_ratio"])
    header = [line for line in stdout.splitlines() if line.startswith("#")]
    # the ISA path the kernels compiled for, as the kernels' own module reports it, in JSON and table header
    assert ((meta["isa"], meta["vector_bits"], meta["cpu_name"])
            == (isa.ISA, 8 * isa.VECTOR_BYTES, isa.CPU_NAME))
    assert f"compiled for {isa.ISA} ({8 * isa.VECTOR_BYTES}-bit vectors" in header[0]
    table = [line for line in stdout.splitlines() if not line.startswith("#")]
    assert len(table) == 1 + len(rows) and all(f"{name} ratio" in table[0] for name in against)
    assert f"[{len(FLOP) * 3}/{len(FLOP) * 3}]" in stderr    # progress: cells x passes measurements
    assert ("JAX is not installed" in stderr) != HAS_JAX


def test_report_speed_section_reads_the_bench(bench_run, tmp_path):
    # the report of an empty store plus this bench run: ratios per framework, recomputed here with pandas
    import pandas as pd
    _, _, _, out = bench_run
    doc = json.loads((out / "bench.json").read_text())
    md = (build_from_frames(None, None, None, doc, tmp_path / "r").parent / "report.md").read_text()
    got = pd.read_csv(tmp_path / "r" / "tables" / "speed.csv")
    bench = pd.DataFrame(doc["rows"])
    assert len(got) == len(bench) and (got["pass"] == bench["pass"]).all()
    for name, label in (("torch", "PyTorch"), ("jax", "JAX")):
        expected = bench["time_s"] / bench[f"{name}_time_s"].astype(float)
        np.testing.assert_allclose(got[f"{name}_ratio"], expected, rtol=1e-12)
        assert (f"ratio to {label}" in md) == (name in doc["meta"]["against"])
    speed = md[md.index("5. Speed"):]
    assert "speedup" not in md.lower() and "![" in speed       # one convention; the figure is there
    assert (f"CPU kernels compiled for {isa.ISA} ({8 * isa.VECTOR_BYTES}-bit vectors, LLVM CPU "
            f"{isa.CPU_NAME})") in speed


def test_report_reads_bench_json_from_before_per_framework_columns(tmp_path):
    # bench.json as `rnnbench bench` wrote it before JAX (reports/bench/): one against_time_s per row
    rows = [{"cell": "lstm", "backend": b, "against": a, "pass": "forward", "T": 5, "B": 2, "I": 2, "H": 4,
             "dtype": "float32", "threads": 1, "time_s": 0.002, "against_time_s": 0.004, "ratio": 0.5}
            for b, a in (("cpu", "torch"), ("cuda", "torch-cuda"))]
    md = (build_from_frames(None, None, None, {"meta": {"cpu": "test"}, "rows": rows}, tmp_path / "r").parent
          / "report.md").read_text()
    import pandas as pd
    got = pd.read_csv(tmp_path / "r" / "tables" / "speed.csv")
    assert list(got["torch_ratio"]) == [0.5, 0.5] and got["jax_ratio"].isna().all()
    assert "does not say which vector ISA" in md


def test_run_bench_without_comparator():
    rows, meta = run_bench(cells=("gru",), shapes=((3, 2, 2, 3),), backends=("reference",), against="none",
                           threads=1, repeats=1, passes=("forward",))
    assert meta["threads"] == 1 and len(rows) == 1
    assert rows[0]["against"] == "none" and rows[0]["torch_ratio"] is None and rows[0]["time_s"] > 0


def test_cuda_backend_row_agrees_with_torch():
    # numba's simulator without a GPU (tests/conftest.py); PyTorch on CPU is then the comparator
    # (JAX on its CPU: this jaxlib has no GPU backend)
    rows, _ = run_bench(cells=("lstm",), shapes=((3, 2, 2, 4),), backends=("cuda",), threads=1, repeats=1,
                        passes=("forward", "forward+backward"))
    assert [(r["backend"], r["pass"]) for r in rows] == [("cuda", "forward"), ("cuda", "forward+backward")]
    expected = ("torch-cuda" if torch.cuda.is_available() else "torch") + (",jax" if HAS_JAX else "")
    assert all(r["against"] == expected and r["max_rel_diff"] < 1e-5 for r in rows)


@pytest.mark.parametrize("args, words", [
    (["--shapes", "5,2,3"], "bad shape"),
    (["--shapes", "5,2,x,4"], "bad shape"),
    (["--shapes", "5,0,3,4"], "bad shape"),
    (["--cells", "lstm,foo"], "unknown cell"),
    (["--backends", "nope"], "unknown backend"),
    (["--threads", "0"], "threads"),
    (["--against", "tensorflow"], "unknown comparator"),
    (["--against", "torch,torch"], "at most once"),
    (["--passes", "forward,backward"], "passes must be among"),
    (["--train-shape", "5,2"], "bad shape"),
    (["--train-shape", "1,2,3", "--passes", "train-step"], "seq_len"),
    (["--dtype", "float16"], "dtype"),
    (["--repeats", "0"], "repeats"),
])
def test_bad_input_exits_2_with_one_line(args, words, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["bench", "--shapes", "2,1,1,2", "--repeats", "1", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rnnbench: error:") and words in err
    assert not out.exists()                             # nothing half-written


def test_out_must_be_a_directory(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("keep")
    assert main(["bench", "--shapes", "2,1,1,2", "--out", str(target)]) == 2
    assert "not a directory" in capsys.readouterr().err and target.read_text() == "keep"


def test_missing_torch_is_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)     # `import torch` now raises ImportError
    assert main(["bench", "--shapes", "2,1,1,2", "--against", "torch"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PyTorch" in err


def test_missing_jax_is_skipped_with_a_note(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "jax", None)       # `import jax` now raises ImportError
    assert main(["bench", "--shapes", "2,1,1,2", "--against", "torch,jax", "--passes", "forward", "--cells",
                 "rnn", "--repeats", "1", "--threads", "1"]) == 0
    out, err = capsys.readouterr()
    notes = [line for line in err.splitlines() if "JAX" in line]
    assert notes == ["note: JAX is not installed (pip install 'rnnbench[jax]'): no JAX comparison"]
    assert "Traceback" not in err and "torch ratio" in out and "jax ratio" not in out


def test_train_step_rows_agree_with_torch_in_float64():
    # one adding-model optimizer step per cell, rnnbench's train_step against the same step in PyTorch:
    # after the same steps on the same batch, the loss and the update of one more step agree to rounding
    rows, meta = run_bench(cells=("rnn", "gru", "lstm", "peephole"), backends=("cpu",), against="torch",
                           dtype="float64", threads=1, repeats=1, passes=("train-step",),
                           train_shape=(8, 4, 6))
    assert meta["train_shape"] == [8, 4, 6] and [r["pass"] for r in rows] == ["train-step"] * 4
    assert all(r["against"] == "torch" and r["max_rel_diff"] < 1e-10 for r in rows)


def test_time_interleaved_warms_up_then_alternates_with_a_lead_in():
    calls = []
    times = time_interleaved([lambda: calls.append("a"), lambda: calls.append("b")], repeats=3, warmup=2,
                             lead_in_s=0)      # one lead-in call each
    assert calls == ["a", "a", "b", "b"] + ["a", "a", "b", "b"] * 3
    assert len(times) == 2 and all(len(ts) == 3 and min(ts) >= 0 for ts in times)


def test_lead_ins_last_lead_in_s(monkeypatch):
    # each timed call ends a run of calls of its function that began at least LEAD_IN_S before it
    monkeypatch.setattr(timing, "LEAD_IN_S", 0.01)
    calls = []
    time_interleaved([lambda: calls.append(("a", time.perf_counter())),
                      lambda: calls.append(("b", time.perf_counter()))], repeats=2, warmup=1)
    runs = [list(g) for _, g in itertools.groupby(calls[2:], key=lambda c: c[0])]
    assert [r[0][0] for r in runs] == ["a", "b", "a", "b"]
    # a run's first call is stamped inside it, after the lead-in's clock started: a pause there (the garbage
    # collector, the OS) shortens the stamped span, so it is held to 90 % of LEAD_IN_S
    assert all(len(r) > 2 and r[-1][1] - r[0][1] >= 0.009 for r in runs)


# ---- the PyTorch peephole comparator, checked against the NumPy reference and against nn.LSTM ----------

T, B, I, H = 6, 3, 4, 5


def _peephole_pair(seed=1):
    ref = RNN("peephole", I, H, backend="reference", dtype="float64", seed=seed)
    mod = TorchPeephole(I, H, dtype=torch.float64)
    mod.load_state_dict({k: torch.from_numpy(v) for k, v in ref.state_dict().items()})
    return ref, mod


def test_torch_peephole_matches_reference_forward_and_gradients():
    ref, mod = _peephole_pair()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((T, B, I))
    dy = rng.standard_normal((T, B, H))
    out = ref.forward(x)
    g = ref.backward(out, dy)
    xt = torch.from_numpy(x).requires_grad_(True)
    y, (h_n, c_n) = mod(xt)
    y.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(y.detach().numpy(), out.output, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_n.detach().numpy(), out.h_n, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c_n.detach().numpy(), out.c_n, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), g.dx, rtol=1e-10, atol=1e-12)
    for name, p in mod.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), g.params[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_torch_peephole_without_peepholes_is_nn_lstm():
    _, mod = _peephole_pair()
    with torch.no_grad():
        mod.weight_peephole_l0.zero_()
    lstm = torch.nn.LSTM(I, H, dtype=torch.float64)
    lstm.load_state_dict({k: v for k, v in mod.state_dict().items() if k != "weight_peephole_l0"})
    x = torch.randn(T, B, I, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(mod(x)[0], lstm(x)[0], rtol=1e-12, atol=1e-12)
