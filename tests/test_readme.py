"""The README's Python snippets and examples/basics.py run as they are."""

import pathlib
import re
import runpy
import subprocess
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_python_blocks_run():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "README has no python blocks"
    namespace = {"f": lambda x: np.sum(np.sin(x)), "x": np.array([0.1, 0.2])}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)


def test_readme_quickstart_is_two_shell_lines():
    text = (ROOT / "README.md").read_text()
    quick = text.split("## Quickstart", 1)[1]
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", quick, re.S).group(1)
    lines = [l for l in block.strip().splitlines() if l.strip()]
    assert len(lines) == 2
    assert "python -m dualad" in lines[0]
    assert "pytest" in lines[1]
    ci = (ROOT / ".ci" / "run").read_text()
    install, test = [part.strip() for part in lines[1].split("&&")]
    assert install.replace("python -m pip install", "") .strip() in ci
    assert test in ci


def test_basics_example_runs():
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "basics.py")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "at x = 1: 1.0" in out.stdout
