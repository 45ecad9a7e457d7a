"""Which vector ISA the CPU kernels compile for: read from the CPU that Numba itself targets.

Numba compiles for the host CPU, or for NUMBA_CPU_NAME / NUMBA_CPU_FEATURES when those are set, and its
on-disk cache keys every compiled kernel by that CPU name and feature string (numba.core.codegen's
magic_tuple). Deriving the kernels' vector width from the same features keeps the two in step: a kernel
cached for an AVX-512 host is never loaded on an AVX2 one, and a test can force the AVX2 or portable path
on an AVX-512 host by setting those two variables before Numba starts.

    AVX-512 (avx512f):     64-byte vectors (16 float32 / 8 float64 lanes), 32 vector registers
    AVX2 (avx2 and fma):   32-byte vectors (8 / 4 lanes), 16 registers
    portable (any other):  16-byte vectors (SSE2 / NEON), multiply-add fused only where the target has it
"""
from numba.core.registry import cpu_target


def _target():
    codegen = cpu_target.target_context.codegen()
    features = {f[1:] for f in codegen._get_host_cpu_features().split(",") if f.startswith("+")}
    return codegen._get_host_cpu_name(), features


CPU_NAME, _FEATURES = _target()

if "avx512f" in _FEATURES:
    ISA, VECTOR_BYTES, VECTOR_REGISTERS = "avx512", 64, 32
elif {"avx2", "fma"} <= _FEATURES:
    ISA, VECTOR_BYTES, VECTOR_REGISTERS = "avx2", 32, 16
else:
    ISA, VECTOR_BYTES, VECTOR_REGISTERS = "portable", 16, 16

HAS_FMA = "fma" in _FEATURES or "avx512f" in _FEATURES


def describe():
    """The kernels' compile target, for benchmark metadata: {'isa', 'vector_bits', 'cpu_name'}."""
    return {"isa": ISA, "vector_bits": 8 * VECTOR_BYTES, "cpu_name": CPU_NAME}
