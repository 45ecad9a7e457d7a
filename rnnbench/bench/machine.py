"""Machine and software metadata stored with every bench result, so a number can be traced to where it
came from."""
import datetime
import importlib.metadata
import os
import platform
import subprocess

from rnnbench.kernels.cpu.isa import describe


def cpu_model():
    """The CPU's marketing name from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _blas():
    from threadpoolctl import threadpool_info
    return "; ".join(f"{i['internal_api']} {i.get('version')} ({i.get('architecture') or i['prefix']})"
                     for i in threadpool_info() if i["user_api"] == "blas")


def _git_commit():
    # the code that was measured; None outside a git checkout
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=os.path.dirname(os.path.abspath(__file__)))
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def machine_meta(threads, dtype):
    """The JSON "meta" fields that describe the machine, the software and the run settings; isa, vector_bits
    and cpu_name say which vector ISA path the CPU kernels compiled for (rnnbench.kernels.cpu.isa)."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads": threads,
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "numba": _version("numba"),
        "torch": _version("torch"),
        "jax": _version("jax"),
        **describe(),
        "dtype": dtype,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "blas": _blas(),
        "git_commit": _git_commit(),
        # a loaded machine slows multi-threaded runs most (OpenMP workers spin-wait for descheduled peers)
        "loadavg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }
