"""What dualad differentiates, found by introspection; writes docs/coverage.md.

Every public function of ``numpy``, ``numpy.linalg`` and ``numpy.fft`` and
every ufunc of ``scipy.special`` is put in one class:

``differentiated``
    a rule is registered (both modes, every nesting);
``constant``
    registered as having no derivative: every float output is piecewise
    constant in every float input (the reason is given);
``NumPy's code``
    NumPy does not dispatch it, but its own Python code runs on traced values
    and is differentiated through the functions it calls;
``refused``
    a traced argument raises a ``TypeError`` naming the function (the reason
    is given: no rule yet, or why there is none);
``not numeric``
    nothing to differentiate: shapes, dtypes, printing, files, settings,
    integer-only ufuncs.

The sections for ``scipy.linalg`` and ``scipy.special``'s functions list
which have a drop-in (SciPy converts their arguments with ``np.asarray``, so
only a dualad function with SciPy's signature can trace them).

``python tests/coverage_table.py`` rewrites docs/coverage.md;
tests/test_coverage.py fails when a function changes class without the file
being regenerated, and checks each class's claim on the functions in it.
"""

from __future__ import annotations

import inspect
import pathlib
import types

import numpy as np
import scipy
import scipy.linalg
import scipy.special as sp

import dualad.scipy.special  # noqa: F401  (registers the drop-in names)
from dualad import core

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "coverage.md"

DIFFERENTIATED, CONSTANT, NUMPY_CODE, REFUSED, NOT_NUMERIC = (
    "differentiated", "constant", "NumPy's code", "refused", "not numeric")
CLASSES = (DIFFERENTIATED, CONSTANT, NUMPY_CODE, REFUSED, NOT_NUMERIC)

# ---- the reasons -------------------------------------------------------------------
_INTEGER = "integer or boolean output"
CONSTANT_REASONS = {
    "round": "rounding: piecewise constant", "around": "rounding: piecewise constant",
    "fix": "rounding: piecewise constant", "floor": "rounding: piecewise constant",
    "ceil": "rounding: piecewise constant", "rint": "rounding: piecewise constant",
    "trunc": "rounding: piecewise constant", "floor_divide": "rounding: piecewise constant",
    "spacing": "the gap to the next float: piecewise constant",
    "zeros_like": "a constant array of the input's shape",
    "ones_like": "a constant array of the input's shape",
    "empty_like": "an array of the input's shape",
    "shape": "shape information", "ndim": "shape information", "size": "shape information",
    "result_type": "dtype information", "can_cast": "dtype information",
    "min_scalar_type": "dtype information",
}
# a constant function not listed above has an integer or boolean output

# functions NumPy does not dispatch: what happens to a traced argument
NOT_DISPATCHED = {
    NUMPY_CODE: {
        "fftfreq": "NumPy's code divides by the traced spacing d",
        "rfftfreq": "NumPy's code divides by the traced spacing d",
        "row_stack": "an alias of vstack",
        "fromfunction": "calls the given function on float index arrays",
    },
    REFUSED: {
        name: "converts its argument to a plain NumPy array, which would lose the "
              "derivative (a TypeError says so)"
        for name in ("array asanyarray asarray asarray_chkfinite ascontiguousarray "
                     "asfortranarray asmatrix require bmat").split()
    } | {
        "arange": "C code that converts its arguments; write start + step * np.arange(n)",
        "kaiser": "converts beta to a NumPy array; np.i0 of a traced beta is differentiated",
        "full": "C code that converts fill_value; write fill_value * np.ones(shape)",
        "frompyfunc": "makes an object-dtype ufunc, which dualad cannot differentiate",
        "fromiter": "converts each element to a float",
    },
}
NOT_NUMERIC_REASONS = {
    "numpy": ("bartlett blackman hamming hanning base_repr binary_repr broadcast_shapes "
              "datetime_data diag_indices empty eye format_float_positional "
              "format_float_scientific from_dlpack frombuffer fromfile fromregex fromstring "
              "genfromtxt get_include get_printoptions getbufsize geterr geterrcall identity "
              "indices info isdtype isfortran isscalar issubdtype iterable load loadtxt "
              "mask_indices mintypecode nested_iters ones printoptions promote_types "
              "set_printoptions setbufsize seterr seterrcall show_config show_runtime test tri "
              "tril_indices triu_indices typename zeros "
              # dispatched, but about text, files, memory or calendars
              "array2string array_repr array_str datetime_as_string save savetxt savez "
              "savez_compressed may_share_memory shares_memory busday_count busday_offset "
              "is_busday common_type packbits unpackbits ravel_multi_index unravel_index "
              "diag_indices_from tril_indices_from triu_indices_from copyto ix_").split(),
}
REFUSED_REASONS = {
    "put": "writes into its argument in place; use np.where or x.at-style scatter "
           "(np.add.at is not needed: build the new array)",
    "place": "writes into its argument in place; use np.where",
    "putmask": "writes into its argument in place; use np.where",
    "put_along_axis": "writes into its argument in place",
    "fill_diagonal": "writes into its argument in place; add a diagonal matrix instead",
    "intersect1d": "its values are those equal in both arguments: any perturbation of one "
                   "breaks the equality, so there is no derivative to follow",
}


# ---- enumerating ---------------------------------------------------------------------
def _public(module) -> dict:
    found = {}
    for name in sorted(dir(module)):
        if name.startswith("_"):
            continue
        value = getattr(module, name)
        if isinstance(value, (type, types.ModuleType)) or not callable(value):
            continue
        found[name] = value
    return found


def _has_float_loop(ufunc) -> bool:
    return any(set(t.split("->")[0]) & set("efdgFDG") for t in ufunc.types)


def _registered(func, table) -> str | None:
    rule = table.get(func)
    if rule is None:
        return None
    return CONSTANT if getattr(rule, "nondiff_of", None) is not None else DIFFERENTIATED


def classify_ufunc(name: str, ufunc) -> tuple[str, str]:
    kind = _registered(ufunc, core.UFUNC_RULES)
    if kind == CONSTANT:
        return kind, CONSTANT_REASONS.get(name, _INTEGER)
    if kind:
        return kind, ""
    if not _has_float_loop(ufunc):
        return NOT_NUMERIC, "integer, boolean or datetime values only"
    return REFUSED, REFUSED_REASONS.get(name, "no rule yet")


def classify_function(module_name: str, name: str, func) -> tuple[str, str]:
    kind = _registered(func, core.FUNCTION_RULES)
    if kind == CONSTANT:
        return kind, CONSTANT_REASONS.get(name, _INTEGER)
    if kind:
        return kind, ""
    if name in NOT_NUMERIC_REASONS.get(module_name, ()) or name == "test":
        return NOT_NUMERIC, ""
    dispatched = hasattr(func, "_implementation")
    if not dispatched:
        for cls in (NUMPY_CODE, REFUSED):
            if name in NOT_DISPATCHED[cls]:
                return cls, NOT_DISPATCHED[cls][name]
        return REFUSED, "not dispatched by NumPy and not classified (add it to coverage_table.py)"
    return REFUSED, REFUSED_REASONS.get(name, "no rule yet")


def classify(name: str, func, module_name: str) -> tuple[str, str]:
    if isinstance(func, np.ufunc):
        return classify_ufunc(name, func)
    return classify_function(module_name, name, func)


def numpy_table() -> dict:
    """{module name: {function name: (class, reason)}} for numpy,
    numpy.linalg, numpy.fft and scipy.special's ufuncs."""
    table = {}
    for module in (np, np.linalg, np.fft):
        label = module.__name__
        table[label] = {name: classify(name, f, "numpy") for name, f in _public(module).items()}
    table["scipy.special (ufuncs)"] = {
        name: classify_ufunc(name, f) for name, f in _public(sp).items()
        if isinstance(f, np.ufunc)}
    return table


def drop_in_table() -> dict:
    """{section: {SciPy function name: (class, note)}}: the SciPy functions
    that cannot be traced, and which have a dualad drop-in."""
    sections = {}
    try:
        from dualad.scipy import linalg as dlinalg
    except ImportError:
        dlinalg = None
    sections["scipy.linalg"] = {
        name: ((DIFFERENTIATED, "dualad.scipy.linalg." + name)
               if dlinalg is not None and callable(getattr(dlinalg, name, None))
               else (REFUSED, "no drop-in yet"))
        for name, f in _public(scipy.linalg).items() if inspect.isfunction(f)}
    special = {}
    for name, f in _public(sp).items():
        if isinstance(f, np.ufunc) or not inspect.isfunction(f):
            continue
        replacement = core.REPLACEMENTS.get(("scipy.special", name))
        special[name] = ((DIFFERENTIATED, replacement) if replacement
                         else (REFUSED, "no drop-in yet"))
    sections["scipy.special (functions)"] = special
    import scipy.stats as st
    import dualad.scipy.stats as dstats
    kinds = (st.rv_continuous, st.rv_discrete, st._multivariate.multi_rv_generic)
    sections["scipy.stats (distributions)"] = {
        name: ((DIFFERENTIATED, "dualad.scipy.stats." + name) if hasattr(dstats, name)
               else (REFUSED, "no drop-in yet"))
        for name in sorted(dir(st)) if isinstance(getattr(st, name), kinds)}
    return sections


def counts(table: dict) -> dict:
    return {section: {cls: sum(1 for c, _ in entries.values() if c == cls) for cls in CLASSES}
            for section, entries in table.items()}


# ---- the document -----------------------------------------------------------------------
def render() -> str:
    table, drop_ins = numpy_table(), drop_in_table()
    lines = [
        "# What dualad differentiates",
        "",
        "Generated by `python tests/coverage_table.py` from dualad's rule tables, for "
        f"NumPy {np.__version__} and SciPy {scipy.__version__}; `tests/test_coverage.py` "
        "fails when a function changes class and this file is not regenerated.",
        "",
        "Classes: **differentiated** (a rule, both modes, every nesting); **constant** "
        "(registered with derivative zero: every float output is piecewise constant in every "
        "float input); **NumPy's code** (not dispatched, but NumPy's own Python code "
        "differentiates through); **refused** (a traced argument raises a `TypeError` naming "
        "the function); **not numeric** (shapes, dtypes, text, files, settings, integer-only).",
        "",
        "| module | " + " | ".join(CLASSES) + " | total |",
        "|---|" + "---:|" * (len(CLASSES) + 1),
    ]
    for section, row in {**counts(table), **counts(drop_ins)}.items():
        lines.append(f"| {section} | " + " | ".join(str(row[c]) for c in CLASSES)
                     + f" | {sum(row.values())} |")
    for section, entries in {**table, **drop_ins}.items():
        lines += ["", f"## {section}", ""]
        for cls in CLASSES:
            names = [(n, r) for n, (c, r) in entries.items() if c == cls]
            if not names:
                continue
            lines.append(f"**{cls}** ({len(names)}):")
            lines.append("")
            plain = [n for n, r in names if not r]
            if plain:
                lines.append(", ".join(f"`{n}`" for n in plain))
                lines.append("")
            for n, r in names:
                if r:
                    lines.append(f"- `{n}`: {r}")
            if any(r for _, r in names):
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def parse(text: str) -> dict:
    """{(section, name): class} read back from a rendered document."""
    found, section, cls = {}, None, None
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("**") and "(" in line and section:
            cls = line[2:line.index("**", 2)]
        elif section and cls and line.startswith("- `"):
            found[(section, line[3:line.index("`", 3)])] = cls
        elif section and cls and line.startswith("`"):
            for item in line.split(", "):
                found[(section, item.strip("`"))] = cls
    return found


if __name__ == "__main__":
    DOC.write_text(render())
    print(f"wrote {DOC}")
