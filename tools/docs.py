"""`make docs`: docs/schema.md from the models (a test fails when it is stale) and a PDF of each
role guide in instance/docs/ (weasyprint, the same engine as the reports).

    python -m tools.docs          # write both
    python -m tools.docs --check  # exit 1 when docs/schema.md is not what the models give
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "docs" / "schema.md"
GUIDES = {
    "admin-guide.md": "Руководство администратора",
    "moderator-guide.md": "Руководство модератора",
    "manager-guide.md": "Руководство менеджера персонажей",
    "user-guide.md": "Руководство пользователя",
}
STYLE = """
@page { size: A4; margin: 18mm 16mm; @bottom-center { content: counter(page); font-size: 9pt; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10.5pt; line-height: 1.45; }
h1 { font-size: 18pt; } h2 { font-size: 13pt; margin-top: 1.2em; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 9pt; }
pre { background: #f3f3f3; padding: 6pt; white-space: pre-wrap; }
table { border-collapse: collapse; } td, th { border: 1px solid #bbb; padding: 3pt 5pt; }
"""


def schema_markdown() -> str:
    """Every table of the models: columns (type, null, default), keys, indexes."""
    import webapp.models  # noqa: F401 - every model registers its table
    from webapp.db import Base

    lines = [
        "# Database schema",
        "",
        "Generated from the SQLAlchemy models by `make docs` (`python -m tools.docs`);",
        "`tests/app/test_docs.py` fails when it is stale. The migrations in `migrations/versions/`",
        "build this schema on SQLite and MariaDB alike.",
        "",
    ]
    described = {
        mapper.local_table.name: " ".join((mapper.class_.__doc__ or "").split("\n\n")[0].split())
        for mapper in Base.registry.mappers
    }
    for table in sorted(Base.metadata.tables.values(), key=lambda t: t.name):
        lines += [f"## `{table.name}`", ""]
        if described.get(table.name):  # the model's own docstring
            lines += [described[table.name], ""]
        lines += ["| column | type | null | key | default |", "| --- | --- | --- | --- | --- |"]
        for column in table.columns:
            keys = []
            if column.primary_key:
                keys.append("PK")
            keys += [f"→ {fk.target_fullname}" for fk in column.foreign_keys]
            if column.unique:
                keys.append("unique")
            default = column.server_default.arg if column.server_default is not None else ""
            lines.append(
                f"| {column.name} | {column.type.compile()} | {'yes' if column.nullable else 'no'}"
                f" | {' '.join(keys)} | {default if isinstance(default, str) else ''} |"
            )
        indexes = sorted(
            f"{index.name}: {', '.join(c.name for c in index.columns)}"
            + (" (unique)" if index.unique else "")
            for index in table.indexes
        )
        constraints = sorted(
            f"{constraint.name}: {', '.join(c.name for c in constraint.columns)}"
            for constraint in table.constraints
            if constraint.__class__.__name__ == "UniqueConstraint" and constraint.name
        )
        if indexes or constraints:
            lines += ["", *(f"- index {item}" for item in indexes)]
            lines += [f"- unique {item}" for item in constraints]
        lines.append("")
    return "\n".join(lines)


def guide_pdfs(out: Path) -> list[Path]:
    import markdown
    from weasyprint import HTML

    out.mkdir(parents=True, exist_ok=True)
    made = []
    for name, title in GUIDES.items():
        body = markdown.markdown(
            (ROOT / "docs" / name).read_text(encoding="utf-8"), extensions=["tables"]
        )
        page = (
            f"<!doctype html><html lang='ru'><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>"
        )
        target = out / name.replace(".md", ".pdf")
        HTML(string=page, base_url=str(ROOT / "docs")).write_pdf(target)
        made.append(target)
    return made


def main(argv: list[str]) -> int:
    text = schema_markdown()
    if "--check" in argv:
        if SCHEMA.read_text(encoding="utf-8") != text:
            print("docs/schema.md is stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    SCHEMA.write_text(text, encoding="utf-8")
    for path in guide_pdfs(ROOT / "instance" / "docs"):
        print(path.relative_to(ROOT))
    print(SCHEMA.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
