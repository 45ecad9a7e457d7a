"""Parse and check bench settings (shapes, names, counts) before anything is timed; bad input is an
InputError."""
from rnnbench.backend import BACKENDS, check_implements, get_backend, implemented_cells
from rnnbench.bench.flops import PASSES
from rnnbench.cells import CELLS, get_cell
from rnnbench.checks import positive_int
from rnnbench.errors import InputError
from rnnbench.network import DTYPES

# (T, B, I, H): issue 3's shapes: long sequence, wide batch, big hidden layer, single-sequence latency
DEFAULT_SHAPES = ((1000, 64, 2, 128), (200, 128, 10, 128), (100, 64, 128, 512), (100, 1, 2, 128))
# --quick: the same regimes, shorter sequences
QUICK_SHAPES = ((100, 64, 2, 128), (50, 128, 10, 128), (20, 64, 128, 512), (50, 1, 2, 128))
# (T, B, H) of the train-step pass: issue 14's adding model (the input size is the task's, 2);
# --quick: T = 100
TRAIN_SHAPE = (400, 50, 128)
QUICK_TRAIN_SHAPE = (100, 50, 128)


def _positive_ints(text, n, what, flag):
    fields = [f.strip() for f in text.split(",")]
    if len(fields) != n or not all(f.isdigit() and int(f) > 0 for f in fields):
        raise InputError(f"bad shape {text.strip()!r} in {flag}: expected {n} positive integers {what}")
    return tuple(int(f) for f in fields)


def parse_shapes(text):
    """"T,B,I,H;T,B,I,H" -> ((T, B, I, H), ...), every entry a positive integer."""
    return tuple(_positive_ints(part, 4, "T,B,I,H", "--shapes") for part in text.split(";"))


def parse_train_shape(text):
    """"T,B,H" -> (T, B, H), every entry a positive integer."""
    return _positive_ints(text, 3, "T,B,H", "--train-shape")


def parse_list(text):
    """"a,b,c" -> ("a", "b", "c"), blanks dropped."""
    return tuple(s.strip() for s in text.split(",") if s.strip())


def check_shapes(shapes, n=4, what="(T, B, I, H)"):
    for shape in shapes:
        if (len(shape) != n or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in shape)):
            raise InputError(f"bad shape {shape!r}: expected {n} positive integers {what}")


def check_backends(names):
    """Import each backend once; a missing or unusable one is an InputError naming it."""
    if not names:
        raise InputError(f"no backend given; expected one or more of {', '.join(BACKENDS)}")
    for name in names:
        try:
            get_backend(name)
        except ImportError as e:
            raise InputError(f"backend {name!r} is not available here: {e}") from None


def default_cells(backends):
    """The registered cells every one of `backends` implements, in the registry's order."""
    return tuple(c for c in CELLS if all(c in implemented_cells(b) for b in backends if b in BACKENDS))


def check_settings(cells, shapes, backends, dtype, repeats, warmup, passes, train_shape):
    """Everything run_bench takes (but the comparators), checked up front so a bad value fails before minutes
    of timing."""
    if not cells:
        raise InputError(f"no cell given; expected one or more of {', '.join(CELLS)}")
    for cell in cells:
        get_cell(cell)
    if not passes or any(p not in PASSES for p in passes):
        raise InputError(f"passes must be among {', '.join(PASSES)}, got {passes!r}")
    if any(p != "train-step" for p in passes):
        if not shapes:
            raise InputError("no shape given; expected one or more T,B,I,H")
        check_shapes(shapes)
    if dtype not in DTYPES:
        raise InputError(f"unsupported dtype {dtype!r}; expected float32 or float64")
    positive_int("repeats", repeats)
    positive_int("warmup", warmup)        # at least one untimed call: it absorbs JIT compilation
    check_backends(backends)
    for backend in backends:
        for cell in cells:
            check_implements(backend, cell)
    if "train-step" in passes:
        from rnnbench.bench.training import adding_config
        check_shapes([train_shape], 3, "(T, B, H)")
        for cell in cells:
            for backend in backends:
                adding_config(cell, backend, *train_shape, dtype)     # the training config's own checks
