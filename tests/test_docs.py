"""The docs cite tests as proof: every test and file they name exists, so a rename cannot leave
a control claiming a proof that is gone."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PROJECT_ROOT

DOCS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]


TEST_FILES = sorted((PROJECT_ROOT / "tests").rglob("test_*.py"))


def _known_names() -> set[str]:
    """Test functions, and test modules (cited by file name)."""
    functions = {name for source in TEST_FILES for name in re.findall(r"^def (test_\w+)", source.read_text(), flags=re.M)}
    return functions | {source.stem for source in TEST_FILES}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_cited_test_exists(doc):
    cited = set(re.findall(r"\b(test_[a-z0-9_]+)\b", doc.read_text()))
    assert cited - _known_names() == set()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_cited_repository_path_exists(doc):
    paths = set(re.findall(r"`((?:tests|constructs_lib|stacks|tools|handler|docs)/[\w./-]+?)(?:::\w+)?`", doc.read_text()))
    assert {p for p in paths if not (PROJECT_ROOT / p).exists()} == set()
