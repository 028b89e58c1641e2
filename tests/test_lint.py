"""The tree stays clean: ruff's checks and the import contracts of pyproject.toml pass, and every import resolves."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> str:
    path = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not Path(path).exists():
        pytest.fail(f"{name} is not installed: pip install -e '.[test]' installs it")
    return path


def test_ruff_finds_nothing() -> None:
    done = subprocess.run([_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


@pytest.mark.slow
def test_import_contracts_hold() -> None:
    """games <- selfplay <- learner <- cluster; Ray only in cluster.runtime/bench; argparse only in cluster.cli."""
    done = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "4 kept, 0 broken" in done.stdout


def _project_imports() -> list[tuple[str, int, str, str | None]]:
    """Every absolute import of a project module, also those inside functions: (file, line, module, name)."""
    import ast

    found = []
    for package in ("games", "selfplay", "learner", "cluster", "tests"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    if node.module.split(".")[0] in ("games", "selfplay", "learner", "cluster"):
                        found += [(str(path.relative_to(ROOT)), node.lineno, node.module, a.name) for a in node.names]
                elif isinstance(node, ast.Import):
                    found += [
                        (str(path.relative_to(ROOT)), node.lineno, a.name, None)
                        for a in node.names
                        if a.name.split(".")[0] in ("games", "selfplay", "learner", "cluster")
                    ]
    return found


@pytest.mark.slow
def test_every_project_import_resolves() -> None:
    """A lazy import inside a function (ruff and the contracts cannot see it fail) names a real module and name."""
    import importlib

    broken = []
    for path, line, module, name in _project_imports():
        try:
            imported = importlib.import_module(module)
        except ImportError as err:
            broken.append(f"{path}:{line}: {module}: {err}")
            continue
        if name not in (None, "*") and not hasattr(imported, name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                broken.append(f"{path}:{line}: {module} has no {name}")
    assert not broken, "\n".join(broken)


def test_no_game_name_switch_outside_games() -> None:
    """What a game knows about itself is a method or attribute of the game protocol, not a name test elsewhere."""
    import re

    names = "tictactoe|connect4|go|chess"
    switch = re.compile(rf"""name\s*[!=]=\s*["']({names})["']|["']({names})["']\s*[!=]=\s*[\w.]*name\b"""
                        rf"""|name\s+(not\s+)?in\s+[(\[{{]\s*["']({names})["']""")
    found = [f"{path.relative_to(ROOT)}:{number}: {text.strip()}"
             for package in ("selfplay", "learner", "cluster")
             for path in sorted((ROOT / package).rglob("*.py"))
             for number, text in enumerate(path.read_text().splitlines(), 1)
             if switch.search(text)]
    assert not found, "\n".join(found)


_STARTUP_PROBE = """
import sys
from cluster.cli.main import main
for argv in (["--help"], ["train", "--help"], ["bench", "--help"], ["status", "/nonexistent-run"]):
    try:
        main(argv)
    except SystemExit:
        pass
print(sorted(m for m in ("torch", "ray") if m in sys.modules))
"""


@pytest.mark.slow
def test_the_command_line_parses_and_refuses_without_torch_or_ray() -> None:
    """Help and refusals answer at once: torch (~2.5 s) and Ray load only where a command needs them."""
    done = subprocess.run([sys.executable, "-c", _STARTUP_PROBE], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout[-500:]
