"""The CPU kernels' ISA paths: each vector width this host can run passes the kernel oracle tests, and
Numba's on-disk cache never hands a kernel compiled for one CPU to another.

The kernels take their vector width from the CPU Numba compiles for (rnnbench.kernels.cpu.isa), so a
child process with NUMBA_CPU_NAME / NUMBA_CPU_FEATURES set runs the AVX2 or the portable path on an
AVX-512 host, exactly as it would run on such a machine.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from llvmlite import binding as llvm

ROOT = Path(__file__).resolve().parents[1]
HOST = {f[1:] for f in llvm.get_host_cpu_features().flatten().split(",") if f.startswith("+")}
IS_X86 = "sse2" in HOST

# the environment that makes Numba (and so the kernels) target each ISA path
TARGETS = {
    "portable": {"NUMBA_CPU_NAME": "generic", "NUMBA_CPU_FEATURES": ""},
    "avx2": {"NUMBA_CPU_NAME": "haswell",
             "NUMBA_CPU_FEATURES": "+64bit,+avx,+avx2,+bmi,+bmi2,+cmov,+cx16,+f16c,+fma,+fxsr,+lzcnt,+mmx,"
                                   "+movbe,+popcnt,+sse,+sse2,+sse3,+sse4.1,+sse4.2,+ssse3,+xsave"},
}
RUNNABLE = {"portable": IS_X86, "avx2": {"avx2", "fma"} <= HOST}


def run_python(code, target, **env):
    """Run `code` in a child Python that targets `target` (None: the host); returns its stdout."""
    full = {**os.environ, **(TARGETS[target] if target else {}), **env}
    for k in ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES"):
        if target is None:
            full.pop(k, None)
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=full, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


@pytest.mark.parametrize("target,isa", [("portable", "portable"), ("avx2", "avx2")])
def test_isa_follows_the_cpu_numba_targets(target, isa):
    out = run_python("from rnnbench.kernels.cpu import isa; import json; print(json.dumps(isa.describe()))",
                     target)
    assert json.loads(out)["isa"] == isa


@pytest.mark.parametrize("target", [t for t in TARGETS])
def test_forced_isa_passes_the_kernel_oracles(target):
    """The kernels compiled for `target` match the NumPy reference (every cell, both dtypes, random shapes
    and full tiles), PyTorch, and float64 finite differences."""
    if not RUNNABLE[target]:
        pytest.skip(f"this host cannot run the {target} path")
    code = (f"from rnnbench.kernels.cpu import isa; assert isa.ISA == {target!r}, isa.ISA\n"
            "import sys, pytest\n"
            "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', '-k', 'not reference and not cuda',"
            " 'tests/test_cpu_kernels.py', 'tests/test_cpu_gemm.py', 'tests/test_finite_differences.py',"
            " 'tests/test_oracle_torch.py::test_matches_torch']))")
    out = run_python(code, target)
    assert " passed" in out and " failed" not in out, out[-2000:]


PROBE = """
import json, numpy as np
from rnnbench import RNN
from rnnbench.kernels.cpu import isa, lstm
m = RNN("lstm", 3, 20, backend="cpu", dtype="float32", seed=0)
y = m.forward(np.ones((5, 4, 3), np.float32), grad=False).output
print(json.dumps({"isa": isa.ISA, "hits": sum(lstm.lstm_forward.stats.cache_hits.values()),
                  "misses": sum(lstm.lstm_forward.stats.cache_misses.values()), "y": float(y.sum())}))
"""


@pytest.mark.skipif(not IS_X86, reason="the forced targets are x86 CPUs")
def test_cache_never_hands_a_kernel_to_another_cpu(tmp_path):
    """Compile for the portable target into an empty cache, then load it from the host's ISA: a miss (the
    index is keyed by CPU name and features), with the same numbers; the portable target then hits."""
    run = lambda target: json.loads(run_python(PROBE, target, NUMBA_CACHE_DIR=str(tmp_path)))  # noqa: E731
    first, host, again = run("portable"), run(None), run("portable")
    assert (first["misses"], first["hits"]) == (1, 0)
    assert host["isa"] != "portable" and (host["misses"], host["hits"]) == (1, 0)
    assert (again["misses"], again["hits"]) == (0, 1)
    assert abs(host["y"] - first["y"]) <= 1e-4 * abs(first["y"])


STALE_PROBE = """
import numpy as np
from rnnbench import RNN
m = RNN("rnn", 3, 20, backend="cpu", dtype="float64", seed=0)
r = RNN("rnn", 3, 20, backend="reference", dtype="float64", seed=0)
x = np.random.default_rng(0).standard_normal((4, 9, 3))
print(float(np.abs(m.forward(x).output - r.forward(x).output).max()))
"""


def test_an_edit_to_the_inlined_gemm_recompiles_the_kernels(tmp_path):
    """Numba checks a cached kernel against its own file only: after gemm.py alone changes its panel width,
    the cached rnn kernel must not run against the new layout (kernels.cpu.cache)."""
    import shutil

    shutil.copytree(ROOT / "rnnbench", tmp_path / "rnnbench", ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PYTHONPATH": str(tmp_path), "NUMBA_CACHE_DIR": ""}
    code = f"import os; os.chdir({str(tmp_path)!r})\n" + STALE_PROBE
    assert float(run_python(code, None, **env)) < 1e-12
    gemm = tmp_path / "rnnbench" / "kernels" / "cpu" / "gemm.py"
    text = gemm.read_text()
    assert "TILES = {" in text
    gemm.write_text(text.replace("TILES = {", "TILES = {k: (v[0], 1, 1) for k, v in {", 1)
                    .replace("}\nMR, PANEL_VECTORS", "}.items()}\nMR, PANEL_VECTORS", 1))
    assert float(run_python(code, None, **env)) < 1e-12
