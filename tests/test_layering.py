"""The import rules of the README's layout table, checked on the source itself."""
import ast
from pathlib import Path

from fileio.shared_data import REPO_ROOT

LEAVES = {"fileio", "metrics", "process_settings", "commandline"}
OURS = LEAVES | {"models", "app", "annotation", "training", "tools", "benchmarks"}
ALLOWED = {
    "fileio": set(), "metrics": set(), "process_settings": set(), "commandline": set(),
    "models": LEAVES,
    "app": LEAVES | {"models"},
    "annotation": LEAVES | {"models"},
    "training": LEAVES | {"models"},
    "tools": LEAVES | {"models", "training", "app"},
    "benchmarks": LEAVES | {"models", "training", "app", "tools"},
}


def imported_packages(path: Path):
    """Our top-level packages that one source file imports, anywhere in it (lazy imports count too)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in OURS:
                yield top, node.lineno


def test_each_folder_imports_only_what_the_layout_allows():
    violations, files_checked = [], 0
    for package, allowed in ALLOWED.items():
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            files_checked += 1
            for imported, line in imported_packages(path):
                if imported != package and imported not in allowed:
                    violations.append(f"{path.relative_to(REPO_ROOT)}:{line} imports {imported}")
    assert files_checked > 50, "the layout check found too few source files: is REPO_ROOT right?"
    assert not violations, "imports against the layout table in README.md:\n" + "\n".join(violations)
