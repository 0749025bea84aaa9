"""``python -m dualad``: a demo, and what each mode costs on your function or a built-in problem.

    python -m dualad                       # the demo (a few seconds)
    python -m dualad costs PROBLEM [--n N] [--m M] [--repeat R] [--json FILE] [--plot FILE]
    python -m dualad costs module:function --x-shape 1000 [--x-fill 0.5 | --seed S]
    python -m dualad costs myfunc.py       # a file that defines f and x (and maybe v)
    python -m dualad sweep PROBLEM --sizes 10,100,1000 [--plot FILE]
    python -m dualad sweep module:function --sizes 100,1000  # x of each size drawn
    python -m dualad problems              # the built-in problems

Every subcommand has ``--help``.  Mistakes in the arguments (an unknown
problem, a size that is not a positive integer, a plot without matplotlib,
a module that does not import, a file without ``f``) give a one-line
message and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import runpy
import sys
import textwrap
import time
import traceback

import numpy as np

from . import problems
from .comparison import compare, sweep
from .report import MODES, SweepReport, _fmt_time, _table

_EPILOG = "problems: " + "; ".join(
    f"{p.name} ({p.description}; --m: {p.m_meaning})" for p in problems.PROBLEMS.values())


def _problem_name(text: str) -> str:
    if text not in problems.PROBLEMS:
        raise argparse.ArgumentTypeError(
            f"unknown problem {text!r}; choose one of: {', '.join(problems.PROBLEMS)}")
    return text


def _positive(cast, noun: str, positive_noun: str):
    """An argparse type: ``cast(text)``, which must be > 0."""
    def convert(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be {positive_noun}")
        return value
    return convert


_positive_int = _positive(int, "an integer", "a positive integer")
_positive_float = _positive(float, "a number", "positive")


def _sizes(text: str) -> list[int]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError("give sizes as a comma-separated list, e.g. 10,100,1000")
    sizes = []
    for p in parts:
        try:
            value = int(p)
        except ValueError:
            try:  # 1e5
                number = float(p)
                value = int(number) if number.is_integer() else None
            except (ValueError, OverflowError):
                value = None
            if value is None:
                raise argparse.ArgumentTypeError(
                    f"bad size {p!r}: sizes are positive integers, e.g. 10,100,1000") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"bad size {p!r}: sizes must be positive")
        sizes.append(value)
    return sizes


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(p) for p in text.replace("x", ",").split(",") if p.strip())
    except ValueError:
        shape = ()
    if not shape or any(d < 1 for d in shape):
        raise argparse.ArgumentTypeError(
            f"bad shape {text!r}: give positive integers separated by commas, e.g. 1000 or 20,30")
    return shape


def _modes(text: str) -> list[str]:
    modes = [p.strip() for p in text.split(",") if p.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise argparse.ArgumentTypeError(
            f"unknown mode(s) {', '.join(bad)}; choose from {', '.join(MODES)}")
    return modes


def _progress(quiet: bool, after: float = 0.0):
    """A progress printer on stderr that stays silent for the first ``after`` seconds."""
    start = time.perf_counter()

    def say(message: str):
        if not quiet and time.perf_counter() - start >= after:
            print(f"... {message}", file=sys.stderr, flush=True)

    return say


# ---- the demo ---------------------------------------------------------------------------
def _demo_small():
    from .. import api as ad

    def f(x):
        return np.sum(np.tanh(x) ** 2) + x[0] * np.log1p(x[1] ** 2)

    x = np.array([0.3, -1.2, 2.0])
    v = np.array([1.0, 0.5, -1.0])
    print("1. Exact derivatives of plain NumPy code")
    print("   f(x) = sum(tanh(x)**2) + x[0] * log1p(x[1]**2),  x =", x.tolist(),
          " v =", v.tolist())
    y, y_dot = ad.jvp(f, (x,), (v,))
    print(f"   f(x)                = {float(y):.6f}")
    print(f"   J v    (jvp, forward) = {float(y_dot):.6f}")
    y, pullback = ad.vjp(f, x)
    (g,) = pullback(1.0)
    print(f"   ∇f(x)  (vjp, reverse) = {np.round(g, 6).tolist()}")
    print(f"   ∇f · v                = {float(g @ v):.6f}  (= J v)")
    hvps = {mode: ad.hvp(f, x, v, mode) for mode in ad.HVP_MODES}
    H = ad.hessian(f)(x)
    print(f"   ∇²f v  (hvp)          = {np.round(hvps['fwd-over-rev'], 6).tolist()}")
    spread = max(float(np.max(np.abs(h - H @ v))) for h in hvps.values())
    print(f"   the four nestings and hessian(f)(x) @ v agree to {spread:.1e}")
    print()


def _demo_newton(n: int):
    import scipy.optimize as so

    from .. import api as ad

    inst = problems.make("rosenbrock", n=n)
    f, x0 = inst.f, inst.x
    print(f"2. Newton-CG on the extended Rosenbrock function, n = {n}, "
          "from x0 = (-1.2, 1, -1.2, 1, ...)")
    runs = []
    try:
        from ..optimize import minimize
        how = "dualad (exact HVPs, nothing by hand)"

        def with_dualad():
            return minimize(f, x0, method="Newton-CG", options={"xtol": 1e-8})
    except ImportError:  # pragma: no cover - the optimize module is part of dualad
        how = "scipy.optimize.minimize with dualad's gradient and hvp"

        def with_dualad():
            return so.minimize(ad.value_and_grad(f), x0, jac=True, method="Newton-CG",
                               hessp=lambda x, p: ad.hvp(f, x, p), options={"xtol": 1e-8})

    def by_hand():
        return so.minimize(so.rosen, x0, jac=so.rosen_der, hessp=so.rosen_hess_prod,
                           method="Newton-CG", options={"xtol": 1e-8})

    for label, run in ((how, with_dualad),
                       ("SciPy's hand-written rosen_der/hess_prod", by_hand)):
        t0 = time.perf_counter()
        res = run()
        seconds = time.perf_counter() - t0
        runs.append((label, res, seconds))
    rows = [["   " + label, str(res.nit), str(res.nhev), _fmt_time(seconds),
             f"{float(np.max(np.abs(np.asarray(res.x).ravel() - 1.0))):.0e}"]
            for label, res, seconds in runs]
    print(_table(["   derivatives", "iterations", "H products", "time", "|x* - 1|"], rows,
                 False))
    ratio = runs[0][2] / runs[1][2]
    print(f"   Same iterations and products, {ratio:.1f}x the time of the hand-written "
          "derivatives.\n   (Newton-CG follows Rosenbrock's curved valley in ~1,600 short "
          "steps from\n   this start whoever writes the derivatives: the count is the "
          "method's.)")
    print()


def demo(n_newton: int = 1000, n_costs: int = 1000, repeat: int = 3) -> int:
    t0 = time.perf_counter()
    _demo_small()
    _demo_newton(n_newton)
    inst = problems.make("rosenbrock", n=n_costs)
    print(f"3. What each mode costs on the same function, n = {inst.n} "
          f"(python -m dualad costs rosenbrock --n {inst.n})")
    report = compare(inst.f, inst.x, repeat=repeat, name="rosenbrock",
                           max_seconds=2.0, progress=_progress(False, after=5.0))
    print("   time as a multiple of f itself (the full table: the command above)")
    for key, res in report.results.items():
        if res.ratio is not None and key != "f":
            print(f"   {res.label or key:54.54s} {res.ratio:9.3g}x f")
    for key in ("hvp", "operator", "replay"):
        reason = report.recommendation.get(f"{key}_reason")
        if reason:
            print(textwrap.fill(reason, 96, initial_indent="   ", subsequent_indent="   "))
    print()
    print(f"(demo finished in {time.perf_counter() - t0:.1f} s; see python -m dualad --help)")
    return 0


# ---- subcommands ------------------------------------------------------------------------
def _check_outputs(args) -> None:
    """Refuse, before any measuring, outputs that could only fail at the end:
    a sweep can run for minutes, and losing it to a missing matplotlib or a
    missing directory is the worst time to learn of either."""
    if args.plot:
        from .plots import _matplotlib
        _matplotlib()  # raises PlotUnavailableError, saying how to install it
    for option, path in (("--json", args.json), ("--plot", args.plot)):
        if path:
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                raise ValueError(f"{option} {path}: the directory {folder} does not exist; "
                                 "create it first or choose another path (checked before "
                                 "measuring, so nothing was run)")


def _write_outputs(report, args) -> None:
    if args.json:
        report.to_json(args.json)
        print(f"wrote {args.json}", file=sys.stderr)
    if args.plot:
        report.plot(args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)


_YOUR_OWN = ("or measure your own function: python -m dualad costs module:function "
             "--x-shape 1000, or python -m dualad costs myfunc.py (a file that defines f and x)")


def _where(exc: BaseException, path: str | None = None) -> str:
    """``exc`` in one line, with the line of the user's code that raised it."""
    frames = traceback.extract_tb(exc.__traceback__)
    libraries = tuple(os.path.dirname(os.path.dirname(m.__file__)) + os.sep
                      for m in (np, sys.modules["dualad"]))
    mine = [fr for fr in frames if (os.path.abspath(fr.filename) == path if path else
                                    not os.path.abspath(fr.filename).startswith(libraries)
                                    and fr.filename != __file__)]
    at = f" (at {os.path.basename(mine[-1].filename)}:{mine[-1].lineno})" if mine else ""
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first}{at}"


def _a(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _public(names) -> str:
    shown = sorted(k for k in names if not k.startswith("_"))
    return ", ".join(shown[:12]) + (", ..." if len(shown) > 12 else "") or "nothing public"


def _load_module_function(target: str):
    """``module:function`` (the function may be dotted: ``mod:Class.method``)."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{target!r}: write module:function, e.g. mylosses:loss")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ValueError(f"cannot import module {module_name!r} ({exc}): run from the "
                             f"directory that holds {module_name.split('.')[0]}.py or add that "
                             "directory to PYTHONPATH") from None
        raise ValueError(f"importing {module_name!r} failed: {_where(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - the user's module, reported in one line
        raise ValueError(f"importing {module_name!r} failed: {_where(exc)}") from None
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"module {module_name!r} has no attribute {attr!r}; it defines: "
                             f"{_public(vars(module))}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"{target} is {_a(type(obj).__name__)}, not a function: name the "
                         f"function to measure (module {module_name!r} defines: "
                         f"{_public(vars(module))})")
    return obj


def _load_file(path: str) -> dict:
    """The globals of a Python file, run as a script of its own."""
    full = os.path.abspath(path)
    if not os.path.isfile(full):
        raise ValueError(f"no such file {path!r}; give a .py file that defines f and x, "
                         "a module:function, or a built-in problem (python -m dualad problems)")
    folder = os.path.dirname(full)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)  # so that the file can import its neighbours
    try:
        return runpy.run_path(full, run_name="__dualad_costs__")
    except SyntaxError as exc:
        raise ValueError(f"{path} is not valid Python: {exc.msg} (line {exc.lineno})") from None
    except Exception as exc:  # noqa: BLE001 - the user's file, reported in one line
        raise ValueError(f"running {path} failed: {_where(exc, full)}") from None
    finally:
        if added:
            sys.path.remove(folder)


def _x_from_options(args, what: str):
    if args.x_shape is None:
        return None
    if args.x_fill is not None:
        return np.full(args.x_shape, float(args.x_fill))
    return np.random.default_rng(args.seed).standard_normal(args.x_shape)


def _check_array(x, where: str):
    """The point as the file gave it: an array, a number or a pytree of them."""
    if isinstance(x, (np.ndarray, float, int, np.number, dict, tuple, list)) and \
            not isinstance(x, bool):
        return x
    raise ValueError(f"{where} is {_a(type(x).__name__)}, not an array; define x as a float "
                     "array (e.g. x = np.ones(100)) or a pytree (dict, tuple, list) of them")


def user_function(args):
    """``(f, x, v, name)`` of the user's target: ``module:function`` with
    ``--x-shape``, or a file that defines ``f`` and ``x`` (and maybe ``v``)."""
    target = args.problem
    for option in ("n", "m"):
        if getattr(args, option) is not None:
            raise ValueError(f"--{option} sets a built-in problem's size; for your own function "
                             "give x's shape with --x-shape (or define x in the file)")
    if args.x_fill is not None and args.x_shape is None:
        raise ValueError("--x-fill needs --x-shape: the shape of x to fill, e.g. --x-shape 1000")
    is_file = target.endswith(".py") or os.sep in target or (
        os.path.isfile(target) and ":" not in target)
    if not is_file:
        if ":" not in target:
            raise ValueError(f"unknown problem {target!r}; choose one of: "
                             f"{', '.join(problems.PROBLEMS)}; {_YOUR_OWN}")
        f = _load_module_function(target)
        x = _x_from_options(args, target)
        if x is None:
            raise ValueError(f"{target} needs a point: give x's shape with --x-shape, e.g. "
                             "--x-shape 1000 or --x-shape 20,30 (standard normal with --seed, "
                             "or --x-fill VALUE)")
        return f, x, None, target
    names = _load_file(target)
    base = os.path.basename(target)
    if "f" not in names:
        functions = [k for k, o in names.items() if callable(o) and not k.startswith("_")
                     and getattr(o, "__module__", None) == "__dualad_costs__"]
        hint = f" (it defines {', '.join(functions)}: name one f, e.g. f = {functions[0]})" \
            if functions else ""
        raise ValueError(f"{target} defines no f{hint}; the file must define the function to "
                         "measure as f and the point as x (or pass --x-shape)")
    f = names["f"]
    if not callable(f):
        raise ValueError(f"f in {target} is {_a(type(f).__name__)}, not a function; define "
                         "f(x) as the function to measure")
    x = _x_from_options(args, target)
    if x is not None and "x" in names:
        raise ValueError(f"{target} defines x and --x-shape gives another: drop one of them")
    if x is None:
        if "x" not in names:
            raise ValueError(f"{target} defines f but no x; define x, the point to "
                             "differentiate at (e.g. x = np.ones(100)), or pass --x-shape")
        x = _check_array(names["x"], f"x in {target}")
    v = names.get("v")
    if v is not None:
        v = _check_array(v, f"v in {target}")
    name = getattr(f, "__name__", "f")
    return f, x, v, f"{base}:{name}" if name not in ("f", "<lambda>") else f"{base}"


def _cmd_costs(args) -> int:
    _check_outputs(args)
    if args.problem in problems.PROBLEMS:
        if args.x_shape is not None or args.x_fill is not None:
            raise ValueError(f"--x-shape and --x-fill are for your own function; the built-in "
                             f"problem {args.problem!r} takes --n and --m")
        inst = problems.get(args.problem).make(n=args.n, m=args.m, seed=args.seed)
        f, x, v, name = inst.f, inst.x, None, args.problem
    else:
        f, x, v, name = user_function(args)
        try:
            f(x)
        except Exception as exc:  # noqa: BLE001 - the user's function, in one line
            raise ValueError(f"calling {name} at x failed: {_where(exc)}") from None
    try:
        report = compare(f, x, v=v, repeat=args.repeat, chunk_size=args.chunk_size,
                         modes=args.modes, max_seconds=args.max_seconds, name=name,
                         seed=args.seed, local=args.local,
                         progress=_progress(args.quiet, after=2.0))
    except TypeError as exc:
        # compare's own refusals (x not float, f's output) name the fix
        raise ValueError(str(exc)) from None
    print(report.to_markdown() if args.markdown else report.to_text())
    _write_outputs(report, args)
    return 0


def _sweep_target(text: str) -> str:
    """A built-in problem, or ``module:function`` (x of each size drawn)."""
    if ":" in text:
        return text
    try:
        return _problem_name(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(
            f"{exc}; or sweep your own function: python -m dualad sweep module:function "
            "--sizes 100,1000 (x of each size standard normal, with --seed)") from None


def _cmd_sweep(args) -> int:
    _check_outputs(args)
    problem, name = args.problem, None
    if ":" in problem:
        if args.vary != "n" or args.m is not None or args.n is not None:
            raise ValueError("for your own function the sizes are x's length: leave out "
                             "--vary, --m and --n")
        f = _load_module_function(problem)
        rng_seed = args.seed
        problem, name = (lambda size: (f, np.random.default_rng(rng_seed)
                                       .standard_normal(size))), args.problem
    report = sweep(problem, args.sizes, m=args.m, n=args.n, vary=args.vary,
                   repeat=args.repeat, modes=args.modes, chunk_size=args.chunk_size,
                   max_seconds=args.max_seconds, seed=args.seed, local=args.local,
                   name=name, progress=_progress(args.quiet))
    for i, table in enumerate(args.table):
        if i:
            print()
        print(report.to_markdown(table) if args.markdown else report.to_text(table))
    _write_outputs(report, args)
    return 0


def _tables(text: str) -> list[str]:
    tables = [p.strip() for p in text.split(",") if p.strip()]
    bad = [t for t in tables if t not in SweepReport.TABLES]
    if bad or not tables:
        raise argparse.ArgumentTypeError(
            f"unknown table(s) {', '.join(bad) or text!r}; choose from "
            f"{', '.join(SweepReport.TABLES)}")
    return tables


def _cmd_problems(args) -> int:
    rows = [[p.name, "R^n -> R" if p.scalar else "R^n -> R^m", p.description,
             str(p.default_n), p.m_meaning] for p in problems.PROBLEMS.values()]
    print(_table(["name", "kind", "function", "default n", "--m"], rows, False))
    return 0


def _cmd_demo(args) -> int:
    return demo(args.n, args.n_costs, args.repeat)


def _common(p: argparse.ArgumentParser, repeat: int) -> None:
    p.add_argument("--m", type=_positive_int, help="the problem's second size (see below)")
    p.add_argument("--repeat", type=_positive_int, default=repeat,
                   help=f"timed samples per mode (default {repeat})")
    p.add_argument("--chunk-size", type=_positive_int,
                   help="directions per forward pass for jacfwd and the dense Hessian "
                        "(default: the recommended one)")
    p.add_argument("--modes", type=_modes,
                   help="comma-separated subset of: " + ", ".join(MODES))
    p.add_argument("--max-seconds", type=_positive_float, default=5.0,
                   help="skip a mode predicted to take longer per call (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data and directions")
    p.add_argument("--local", action="store_true",
                   help="detect the sparse mode's pattern at this x only (for an f that "
                        "branches on values; valid where f takes the same branches)")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    p.add_argument("--plot", metavar="FILE", help="also plot it to FILE (PNG; needs matplotlib)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument("--quiet", action="store_true", help="no progress messages on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dualad",
        description="dualad: exact derivatives of plain NumPy code. Without a subcommand, "
                    "runs the demo: a JVP/VJP/HVP on a small function, Newton-CG with "
                    "dualad's Hessian-vector products on Rosenbrock, and the cost of "
                    "each mode on it.")
    sub = parser.add_subparsers(dest="command", metavar="{demo,costs,sweep,problems}")

    p = sub.add_parser("demo", help="the demo (the default)",
                       description="The demo that runs without arguments.")
    p.add_argument("--n", type=_positive_int, default=1000, help="Rosenbrock size for Newton-CG")
    p.add_argument("--n-costs", type=_positive_int, default=1000,
                   help="Rosenbrock size for the cost table")
    p.add_argument("--repeat", type=_positive_int, default=3, help="timed samples per mode")
    p.set_defaults(run=_cmd_demo)

    p = sub.add_parser(
        "costs", help="what each mode costs on your function or a built-in problem",
        epilog=_EPILOG,
        description="Time f, a JVP, a VJP, the four HVP nestings, HessianOperator, jacfwd, "
                    "jacrev, the dense Hessian and the sparse Jacobian or Hessian (detection, "
                    "colouring, one compressed evaluation) on your function (module:function "
                    "with --x-shape, or a file.py that defines f and x, and optionally v) or "
                    "a built-in problem, and the JVP, VJP, HVP and sparse evaluation replayed "
                    "(dualad.replay); count their work; recommend a mode. The sparse mode "
                    "wins on bratu, bratu-1d (Jacobians) and rosenbrock at large n (Hessian).")
    p.add_argument("problem", metavar="TARGET",
                   help="module:function, file.py (defining f and x), or a built-in problem: "
                        + ", ".join(problems.PROBLEMS))
    p.add_argument("--x-shape", type=_shape,
                   help="your function's x: its shape, e.g. 1000 or 20,30 (standard normal "
                        "drawn with --seed)")
    p.add_argument("--x-fill", type=float, metavar="VALUE",
                   help="with --x-shape: x filled with VALUE instead of random")
    p.add_argument("--n", type=_positive_int, help="a built-in problem's input size")
    _common(p, repeat=5)
    p.set_defaults(run=_cmd_costs)

    p = sub.add_parser(
        "sweep", help="how the costs grow with size; where jacfwd and jacrev cross",
        epilog=_EPILOG,
        description="Run the cost comparison at each size and print (and plot, log-log) "
                    "each mode's time against size.")
    p.add_argument("problem", type=_sweep_target,
                   help="module:function (x of each size standard normal, with --seed), or "
                        "one of: " + ", ".join(problems.PROBLEMS))
    p.add_argument("--sizes", type=_sizes, required=True,
                   help="comma-separated sizes, e.g. 10,100,1000")
    p.add_argument("--vary", choices=("n", "m"), default="n",
                   help="which size the sizes set (default n, with --m fixed)")
    p.add_argument("--n", type=_positive_int, help="the fixed input size when --vary m")
    p.add_argument("--table", type=_tables, default=["time"],
                   help="which tables to print, comma-separated: time (default), work, memory")
    _common(p, repeat=3)
    p.set_defaults(run=_cmd_sweep)

    p = sub.add_parser("problems", help="list the built-in problems")
    p.set_defaults(run=_cmd_problems)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        return demo()
    try:
        return args.run(args)
    except (ValueError, OSError, ImportError, MemoryError) as exc:
        print(f"python -m dualad {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

