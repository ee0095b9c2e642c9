"""`make docs`: docs/schema.md from the models and docs/dependencies.md from the pins (a test
fails when either is stale), and a PDF of each role guide in instance/docs/ (weasyprint, the same
engine as the reports).

    python -m tools.docs          # write them all
    python -m tools.docs --check  # exit 1 when a generated document is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "docs" / "schema.md"
DEPENDENCIES = ROOT / "docs" / "dependencies.md"
PIN_FILES = {
    "requirements.txt": "the web app, the worker, pc_node's link",
    "pc_node/requirements.txt": "pc_node on the home PC",
    "requirements-dev.txt": "tests, local runs, docs",
}
# Debian packages the Makefile installs (or asks for), and what needs each.
DEBIAN = {
    "redis-server": "the bus and the task queue (`make run`, fault tests)",
    "mariadb-server": "the production database (SQLite is the embedded default)",
    "nginx": "TLS, static files, the maintenance page (config/nginx)",
    "fail2ban": "bans from the security log (config/fail2ban)",
    "fonts-dejavu-core": "Cyrillic text in PDF reports and guides",
    "chromium": "browser tests (never a downloaded browser)",
    "wapiti": "`make security`'s scan",
}
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
        "`tests/app/test_guides.py` fails when it is stale. The migrations in",
        "`migrations/versions/` build this schema on SQLite and MariaDB alike.",
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


def dependencies_markdown() -> str:
    """Every pinned package (from the pin files themselves) and the Debian packages."""
    import re

    lines = [
        "# Dependencies",
        "",
        "Generated from the pin files by `make docs`; `tests/app/test_guides.py` fails when it is",
        "stale. Python packages come from PyPI, system ones from Debian; nothing is vendored.",
        "",
    ]
    for name, purpose in PIN_FILES.items():
        lines += [
            f"## `{name}`: {purpose}",
            "",
            "| package | version | note |",
            "| --- | --- | --- |",
        ]
        for raw in (ROOT / name).read_text(encoding="utf-8").splitlines():
            match = re.match(r"([A-Za-z0-9_.\-\[\]]+)==([^\s#]+)\s*(?:#\s*(.*))?", raw)
            if match:
                lines.append(f"| {match.group(1)} | {match.group(2)} | {match.group(3) or ''} |")
        lines.append("")
    lines += ["## Debian packages", "", "| package | needed for |", "| --- | --- |"]
    lines += [f"| {name} | {purpose} |" for name, purpose in DEBIAN.items()]
    lines += [
        "",
        "## Support",
        "",
        "- The site's developers: the addresses in the admin panel, Настройки → каналы тревог",
        "  (they receive the reports and the alerts).",
        "- The home PC with the model: its owner restarts `mehhost-node` (see the runbook).",
        "- Upstream: llama.cpp / llama-cpp-python, Flask, Huey, SQLAlchemy: their issue trackers.",
        "",
    ]
    return "\n".join(lines)


def generated() -> dict[Path, str]:
    return {SCHEMA: schema_markdown(), DEPENDENCIES: dependencies_markdown()}


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
    documents = generated()
    if "--check" in argv:
        stale = [p for p, text in documents.items() if p.read_text(encoding="utf-8") != text]
        for path in stale:
            print(f"{path.relative_to(ROOT)} is stale: run `make docs`", file=sys.stderr)
        return 1 if stale else 0
    for path, text in documents.items():
        path.write_text(text, encoding="utf-8")
        print(path.relative_to(ROOT))
    for path in guide_pdfs(ROOT / "instance" / "docs"):
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
