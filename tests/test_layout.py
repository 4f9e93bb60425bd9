"""Each top-level folder is one thing (stacks/facts.py FOLDERS) and imports only from the folders
below it: the product never depends on the review, the local cloud or the tooling around it."""

from __future__ import annotations

import ast
import subprocess
import tomllib

import pytest

from stacks.facts import FOLDERS, PROJECT_ROOT, PYTHON_FOLDERS

# Where an app's entry point sits: beside the folders, at the synth layer.
ENTRY_POINTS = {"main.py": ("synth", "stacks", "constructs_lib")}
NOT_CODE = {"docs", ".github", ".ci"}


def _first_party_imports(path) -> set[str]:
    """The project's top-level folders this module imports, at any depth of the module (a function's
    late import counts as much as one at the top)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        # importlib.import_module("x.y") and __import__("x.y") import as much as a statement does.
        if isinstance(node, ast.Call) and _call_name(node.func) in ("import_module", "__import__") and node.args:
            argument = node.args[0]
            names = [argument.value] if isinstance(argument, ast.Constant) and isinstance(argument.value, str) else names
        found |= {name.split(".")[0] for name in names} & set(PYTHON_FOLDERS)
    return found


def _call_name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _modules():
    for folder in FOLDERS:
        if folder.name in PYTHON_FOLDERS:
            for path in sorted((PROJECT_ROOT / folder.name).rglob("*.py")):
                yield path, folder.name, folder.imports
    for name, imports in ENTRY_POINTS.items():
        yield PROJECT_ROOT / name, None, imports


@pytest.mark.parametrize(
    ("path", "home", "allowed"), list(_modules()), ids=lambda v: str(v.relative_to(PROJECT_ROOT)) if hasattr(v, "relative_to") else ""
)
def test_a_module_imports_only_from_its_folder_and_the_folders_below(path, home, allowed):
    assert _first_party_imports(path) - {home, *allowed} == set()


def test_every_top_level_folder_of_code_is_a_named_layer_and_main_is_the_only_module_beside_them():
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout.split()
    folders = {path.split("/")[0] for path in tracked if "/" in path}
    assert folders - NOT_CODE == {folder.name for folder in FOLDERS}
    assert {path for path in tracked if "/" not in path and path.endswith(".py")} == set(ENTRY_POINTS)


def test_a_dynamic_import_counts_as_an_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text('import importlib\nimportlib.import_module("review.plan_risks")\n__import__("local_cloud.emulator")\n')
    assert _first_party_imports(probe) == {"review", "local_cloud"}


def test_ruff_sorts_every_layer_as_first_party():
    config = tomllib.loads((PROJECT_ROOT / "ruff.toml").read_text())
    assert set(config["lint"]["isort"]["known-first-party"]) == set(PYTHON_FOLDERS)


def test_the_constructs_know_nothing_of_the_emulator():
    """Local and AWS deployments apply the same JSON: the local cloud aims the provider at moto from
    outside the synth (local_cloud/provider_override.py)."""
    mentions = {
        str(path.relative_to(PROJECT_ROOT))
        for path in [*(PROJECT_ROOT / "constructs_lib").rglob("*.py"), *(PROJECT_ROOT / "stacks").rglob("*.py")]
        # facts.py describes every folder, the local cloud's among them.
        if path.name != "facts.py" and any(word in path.read_text().lower() for word in ("emulator", "moto", "endpoint_url", "endpoints"))
    }
    assert mentions == set()
