"""The role guides say only what the product has: every page path they name answers its role,
and every «label» they quote is one the interface shows (a text with … is matched up to it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDES = {
    "docs/admin-guide.md": "admin",
    "docs/moderator-guide.md": "moderator",
    "docs/manager-guide.md": "manager",
    "docs/user-guide.md": "user",
}
SOURCE = "\n".join(
    path.read_text(encoding="utf-8")
    for path in (ROOT / "webapp").rglob("*")
    if path.suffix in (".html", ".py")
)


def quoted(text: str) -> set[str]:
    return {name.split("…")[0].strip() for name in re.findall(r"«([^«»\n]{2,40})»", text)}


@pytest.mark.parametrize("guide", sorted(GUIDES))
def test_every_quoted_label_is_in_the_interface(guide):
    text = (ROOT / guide).read_text(encoding="utf-8")
    assert sorted(name for name in quoted(text) if name not in SOURCE) == []


@pytest.mark.parametrize("guide", sorted(GUIDES))
def test_every_page_a_guide_names_opens_for_its_role(client, login_as, guide):
    login_as(GUIDES[guide])
    paths = set(re.findall(r"`(/[a-z0-9_/\-]*)`", (ROOT / guide).read_text(encoding="utf-8")))
    answers = {path: client.get(path).status_code for path in sorted(paths)}
    assert {path: code for path, code in answers.items() if code != 200} == {}


def test_the_generated_documents_are_current():
    """docs/schema.md matches the models, docs/dependencies.md the pin files."""
    from tools.docs import generated

    for path, text in generated().items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name} is stale: run `make docs`"


def test_the_role_guides_build_as_pdf(tmp_path):
    from pypdf import PdfReader

    from tools.docs import guide_pdfs

    made = guide_pdfs(tmp_path)
    assert [path.name for path in made] == [
        "admin-guide.pdf",
        "moderator-guide.pdf",
        "manager-guide.pdf",
        "user-guide.pdf",
    ]
    text = PdfReader(made[3]).pages[0].extract_text()
    assert "Руководство пользователя" in text


def test_every_test_the_topology_names_exists():
    """docs/topology.md backs each failure with a test: every test it names is one we have."""
    text = (ROOT / "docs" / "topology.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(test_[a-z0-9_]+)`", text))
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("test_*.py"))
    assert len(named) >= 10
    assert sorted(name for name in named if f"def {name}(" not in tests) == []
