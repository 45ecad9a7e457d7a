"""Parse and check bench settings (shapes, names, counts) before anything is timed; bad input is an InputError."""
from rnnbench.backend import get_backend
from rnnbench.bench.flops import PASSES
from rnnbench.cells import get_cell
from rnnbench.errors import InputError
from rnnbench.network import DTYPES

# (T, B, I, H): issue 3's shapes: long sequence, wide batch, big hidden layer, single-sequence latency
DEFAULT_SHAPES = ((1000, 64, 2, 128), (200, 128, 10, 128), (100, 64, 128, 512), (100, 1, 2, 128))
# --quick: the same regimes, shorter sequences
QUICK_SHAPES = ((100, 64, 2, 128), (50, 128, 10, 128), (20, 64, 128, 512), (50, 1, 2, 128))
AGAINST = ("torch", "none")


def parse_shapes(text):
    """"T,B,I,H;T,B,I,H" -> ((T, B, I, H), ...), every entry a positive integer."""
    shapes = []
    for part in text.split(";"):
        fields = [f.strip() for f in part.split(",")]
        if len(fields) != 4 or not all(f.isdigit() and int(f) > 0 for f in fields):
            raise InputError(f"bad shape {part.strip()!r} in --shapes: expected four positive integers T,B,I,H")
        shapes.append(tuple(int(f) for f in fields))
    return tuple(shapes)


def parse_list(text):
    """"a,b,c" -> ("a", "b", "c"), blanks dropped."""
    return tuple(s.strip() for s in text.split(",") if s.strip())


def check_shapes(shapes):
    for shape in shapes:
        if (len(shape) != 4 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in shape)):
            raise InputError(f"bad shape {shape!r}: expected four positive integers (T, B, I, H)")


def check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")


def check_backends(names):
    """Import each backend once; a missing or unusable one is an InputError naming it."""
    if not names:
        raise InputError("no backend given; expected one or more of reference, cpu, cuda")
    for name in names:
        try:
            get_backend(name)
        except ImportError as e:
            raise InputError(f"backend {name!r} is not available here: {e}") from None


def check_against(against):
    if against not in AGAINST:
        raise InputError(f"unknown comparator {against!r}; expected one of {', '.join(AGAINST)}")
    if against == "torch":
        try:
            import torch  # noqa: F401
        except ImportError:
            raise InputError("--against torch needs PyTorch, which is not installed "
                             "(pip install 'rnnbench[torch]', or use --against none)") from None


def check_settings(cells, shapes, backends, against, dtype, repeats, warmup, passes):
    """Everything run_bench takes, checked up front so a bad value fails before minutes of timing."""
    if not cells:
        raise InputError("no cell given; expected one or more of rnn, gru, lstm, peephole")
    for cell in cells:
        get_cell(cell)
    if not shapes:
        raise InputError("no shape given; expected one or more T,B,I,H")
    check_shapes(shapes)
    if dtype not in DTYPES:
        raise InputError(f"unsupported dtype {dtype!r}; expected float32 or float64")
    check_positive("repeats", repeats)
    check_positive("warmup", warmup)        # at least one untimed call: it absorbs JIT compilation
    if not passes or any(p not in PASSES for p in passes):
        raise InputError(f"passes must be among {', '.join(PASSES)}, got {passes!r}")
    check_backends(backends)
    check_against(against)
