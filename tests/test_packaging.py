"""Packaging: the LICENSE file matches the metadata's license, the py.typed
marker ends up in the built package, and the changelog has an Unreleased
section.  The build is setuptools' own ``build_py`` and ``egg_info`` on a copy
of the sources (offline, no wheel package needed), so what is checked is what
an install would ship."""

import configparser
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def metadata() -> configparser.SectionProxy:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg["metadata"]


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.strip().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The package as setuptools builds it, and the PKG-INFO it writes."""
    src = tmp_path_factory.mktemp("src")
    for name in ("setup.cfg", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "dualad", src / "dualad",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = src / "build-lib"
    proc = subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q",
         "build_py", "--build-lib", str(out), "egg_info", "--egg-base", str(src)],
        cwd=src, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return out, (src / "dualad.egg-info" / "PKG-INFO").read_text()


def test_license_file_is_the_mit_license_the_metadata_declares():
    meta = metadata()
    assert meta["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 the dualad developers" in text
    assert "Permission is hereby granted, free of charge" in text
    assert "License :: OSI Approved :: MIT License" in _lines(meta["classifiers"])
    assert "LICENSE" in _lines(meta["license_files"])


def test_built_package_ships_license_and_py_typed(built):
    out, pkg_info = built
    assert (ROOT / "dualad" / "py.typed").is_file()
    # the marker must be in what is built, not only in the source tree
    assert (out / "dualad" / "py.typed").is_file()
    assert (out / "dualad" / "sparse" / "__init__.py").is_file()  # subpackages too
    assert re.search(r"^License: MIT$", pkg_info, re.M)
    assert re.search(r"^License-File: LICENSE$", pkg_info, re.M)
    assert "Classifier: Typing :: Typed" in pkg_info


def test_python_requires_admits_what_the_dependencies_need(built):
    # numpy>=2.4.2 and scipy>=1.17 need Python 3.11; claiming less is a lie
    _, pkg_info = built
    assert re.search(r"^Requires-Python: >=3\.11$", pkg_info, re.M)
    assert sys.version_info >= (3, 11)
    classifiers = re.findall(r"^Classifier: Programming Language :: Python :: (3\.\d+)$",
                             pkg_info, re.M)
    assert classifiers and all(tuple(map(int, v.split("."))) >= (3, 11) for v in classifiers)


def test_changelog_has_an_unreleased_section_with_entries():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "keepachangelog.com" in text
    sections = re.split(r"^## ", text, flags=re.M)
    unreleased = [s for s in sections if s.startswith("[Unreleased]")]
    assert len(unreleased) == 1
    body = unreleased[0]
    assert "### Added" in body
    assert len(re.findall(r"^- ", body, re.M)) >= 5
    # the headline features are named
    for feature in ("Forward mode", "Reverse mode", "nesting", "Sparse Jacobians",
                    "costs", "Complex numbers", "Coverage", "SciPy"):
        assert feature in body, feature
