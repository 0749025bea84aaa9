"""The coverage table (docs/coverage.md, written by tests/coverage_table.py):
it is up to date, and each class's claim holds for the functions in it."""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import re

import numpy as np
import pytest
import scipy

import dualad as ad
from dualad import core
from dualad.testing import check_grads

_spec = importlib.util.spec_from_file_location(
    "coverage_table", pathlib.Path(__file__).with_name("coverage_table.py"))
coverage_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(coverage_table)

TABLE = coverage_table.numpy_table()
DROP_INS = coverage_table.drop_in_table()
MODULES = {"numpy": np, "numpy.linalg": np.linalg, "numpy.fft": np.fft}


def _current() -> dict:
    return {(section, name): cls for section, entries in {**TABLE, **DROP_INS}.items()
            for name, (cls, _) in entries.items()}


def _recorded_versions(text: str):
    found = re.search(r"NumPy (\S+) and SciPy (\S+);", text)
    return found.groups() if found else (None, None)


def test_the_document_is_up_to_date():
    text = coverage_table.DOC.read_text()
    recorded, current = coverage_table.parse(text), _current()
    same_versions = _recorded_versions(text) == (np.__version__, scipy.__version__)
    keys = set(current) | set(recorded) if same_versions else set(current) & set(recorded)
    changed = sorted(f"{s}.{n}: {recorded.get((s, n), 'absent')} -> {current.get((s, n), 'absent')}"
                     for s, n in keys if recorded.get((s, n)) != current.get((s, n)))
    assert not changed, ("functions changed class; if that is intended, run "
                         "`python tests/coverage_table.py` and commit docs/coverage.md:\n"
                         + "\n".join(changed))
    if same_versions:
        assert text == coverage_table.render()


def test_the_parser_reads_every_entry_back():
    assert coverage_table.parse(coverage_table.render()) == _current()


def test_every_function_is_classified():
    for section, entries in TABLE.items():
        for name, (cls, reason) in entries.items():
            assert cls in coverage_table.CLASSES
            assert "not classified" not in reason, f"{section}.{name}: {reason}"
            if cls in (coverage_table.CONSTANT, coverage_table.REFUSED):
                assert reason, f"{section}.{name} ({cls}) gives no reason"


def _boxed_call(fn):
    """Run ``fn(x)`` on a traced float vector (reverse mode)."""
    ad.grad(lambda x: (fn(x), np.sum(x))[1])(np.array([0.3, 0.7, 1.1]))


def test_refused_functions_raise_a_type_error_naming_them():
    wrong = []
    for section, entries in TABLE.items():
        module = MODULES.get(section)
        for name, (cls, _) in entries.items():
            if cls != coverage_table.REFUSED:
                continue
            func = getattr(module, name) if module else getattr(scipy.special, name)
            if isinstance(func, np.ufunc):
                call = lambda x, f=func: type(x).__array_ufunc__(x, f, "__call__", *(x,) * f.nin)
            elif hasattr(func, "_implementation"):
                call = lambda x, f=func: type(x).__array_function__(x, f, (type(x),), (x,), {})
            else:
                continue  # not dispatched: see the next test
            try:
                _boxed_call(call)
            except TypeError as e:
                if core.public_name(func) not in str(e):
                    wrong.append(f"{section}.{name}: {e}")
            else:
                wrong.append(f"{section}.{name}: no error")
    assert not wrong, "\n".join(wrong)


NOT_DISPATCHED_CALLS = {
    "array": lambda x: np.array(x), "asarray": lambda x: np.asarray(x),
    "asanyarray": lambda x: np.asanyarray(x), "ascontiguousarray": np.ascontiguousarray,
    "asfortranarray": np.asfortranarray, "asarray_chkfinite": np.asarray_chkfinite,
    "asmatrix": np.asmatrix, "require": np.require, "bmat": lambda x: np.bmat([[x]]),
    "arange": lambda x: np.arange(x[0], 3.0), "kaiser": lambda x: np.kaiser(4, x[0]),
    "full": lambda x: np.full(3, x[0]), "fromiter": lambda x: np.fromiter(x, float),
    "frompyfunc": lambda x: np.frompyfunc(lambda v: v, 1, 1)(x).astype(float),
}


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_refused_undispatched_functions_raise_a_type_error():
    refused = coverage_table.NOT_DISPATCHED[coverage_table.REFUSED]
    assert set(refused) == set(NOT_DISPATCHED_CALLS)
    for name, call in NOT_DISPATCHED_CALLS.items():
        with pytest.raises(TypeError):
            _boxed_call(call)


NUMPY_CODE_CALLS = {
    "fftfreq": (lambda d: np.fft.fftfreq(8, d), 0.7),
    "rfftfreq": (lambda d: np.fft.rfftfreq(9, d), 1.3),
    "row_stack": (lambda x: np.row_stack([x, 2 * x]), np.array([0.3, -1.2])),
    "fromfunction": (lambda x: np.fromfunction(lambda i, j: x[0] * i + np.sin(x[1] * j), (3, 2)),
                     np.array([0.3, -1.2])),
}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("name", sorted(coverage_table.NOT_DISPATCHED[coverage_table.NUMPY_CODE]))
def test_numpy_code_is_differentiated(name):
    f, x = NUMPY_CODE_CALLS[name]
    np.testing.assert_allclose(ad.jvp(f, (x,), (x,))[0], f(x))
    check_grads(f, (np.asarray(x, dtype=float),), order=2)


def test_drop_ins_exist():
    import dualad.scipy.special
    for section, entries in DROP_INS.items():
        for name, (cls, note) in entries.items():
            if cls == coverage_table.DIFFERENTIATED:
                module, _, attr = note.rpartition(".")
                assert callable(getattr(importlib.import_module(module), attr)), note
    assert dualad.scipy.special.logsumexp is not None
