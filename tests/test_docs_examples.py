"""The docs pages' Python examples run, their links resolve, and the README stays short.

The README points to docs/ for everything beyond a short tour; these tests keep
that split honest: the moved examples still run (as tests/test_readme.py runs the
README's), no link or file reference is left dangling, and a measured figure is
written in one place only, so two documents cannot disagree about it.
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

# Pages whose ```python blocks run here, in order, in one namespace per page
# (how-it-works.md is run by tests/test_costs.py).
PAGES_WITH_EXAMPLES = ["extending.md", "testing.md", "complex-numbers.md", "scipy.md",
                       "sparse.md", "replay.md"]

# docs/coverage.md and docs/api.md are generated (tests/coverage_table.py,
# tests/apidoc.py, each kept current by its own test).
HAND_WRITTEN = [ROOT / "README.md"] + sorted(p for p in DOCS.glob("*.md")
                                             if p.name not in ("coverage.md", "api.md"))


def python_blocks(path: pathlib.Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


@pytest.fixture
def dispatch_tables_restored():
    """A page may register its own primitive (docs/extending.md replaces
    scipy.special.ndtri's rule): the process's dispatch tables are put back
    afterwards, so later tests see dualad's own rules."""
    from dualad import core
    tables = (core.UFUNC_RULES, core.FUNCTION_RULES, core.SIGNATURES, core.METHOD_RULES,
              core.REPLACEMENTS)
    saved = [dict(t) for t in tables]
    yield
    for table, copy in zip(tables, saved):
        table.clear()
        table.update(copy)


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES)
@pytest.mark.usefixtures("dispatch_tables_restored")
def test_docs_python_blocks_run(page):
    path = DOCS / page
    blocks = python_blocks(path)
    assert blocks, f"{path} has no python blocks"
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(path), "exec"), namespace)


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces -> '-'."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: pathlib.Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {_anchor(h) for h in re.findall(r"^#+ (.*)$", text, re.M)}


@pytest.mark.parametrize("path", HAND_WRITTEN, ids=lambda p: p.name)
def test_links_and_file_references_resolve(path):
    text = path.read_text()
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(target)
    # `examples/x.py`, `benchmarks/x.py`, ...: paths from the repository root
    for ref in re.findall(r"`((?:examples|benchmarks|tests|dualad|docs)/[\w./-]+)`", text):
        if not (ROOT / ref).exists():
            broken.append(ref)
    assert not broken, f"{path.name}: these links or paths point nowhere: {broken}"


def test_link_checker_catches_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[gone](missing.md) [self](#title) [bad](#nothing)\n")
    assert _anchors(page) == {"title"}
    with pytest.raises(AssertionError, match=r"missing\.md.*#nothing"):
        test_links_and_file_references_resolve(page)


def test_readme_is_short():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) < 150, (f"README.md has {len(lines)} lines; keep it under 150 and "
                              "move detail into a docs/ page linked from it")


# A measured figure: a multiple of f ("3.84×") or a time ("119.7 µs", "13 ms").
FIGURE = re.compile(r"\d(?:\.\d+)?(?:e\d+)?× |\d(?:\.\d+)?× *[|/)]|\d(?:\.\d+)? ?(?:µs|ms)\b")


def test_readme_quotes_no_measured_figures():
    figures = [line for line in (ROOT / "README.md").read_text().splitlines()
               if FIGURE.search(line)]
    assert not figures, ("measured figures belong in docs/benchmarks.md or "
                         f"docs/which-mode-when.md, with the script that made them: {figures}")


def test_each_figure_line_is_written_once():
    seen: dict[str, str] = {}
    repeated = []
    for path in HAND_WRITTEN:
        for line in set(path.read_text().splitlines()):
            if FIGURE.search(line):
                if line in seen and seen[line] != path.name:
                    repeated.append((seen[line], path.name, line))
                seen.setdefault(line, path.name)
    assert not repeated, f"the same measured figures in two documents: {repeated}"


def test_benchmark_figures_name_their_script():
    text = (DOCS / "benchmarks.md").read_text()
    rows = [row for row in text.splitlines()
            if row.startswith("| ") and FIGURE.search(row)]
    assert rows, "docs/benchmarks.md has no table of figures"
    for row in rows:
        first_cell = row.split("|")[1]
        script = re.search(r"`(bench_\w+\.py)`", first_cell)
        if first_cell.strip().startswith("the same"):
            continue
        assert script, f"this row of docs/benchmarks.md names no script: {row}"
        assert (ROOT / "benchmarks" / script.group(1)).exists(), row
