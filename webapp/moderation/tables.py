"""Server-side sorted, filtered and paginated tables for the moderation pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from webapp.forms import PAGE_LIMIT, query_int
from webapp.rendering import drop_empty

PAGE_SIZE = 50


@dataclass(frozen=True)
class TableQuery:
    sort: str
    descending: bool = True
    page: int = 1
    text: str = ""
    state: str = ""

    def link(self, **changes: Any) -> dict[str, Any]:
        """URL arguments for this query with some changed (a column header, a page)."""
        values = {
            "sort": self.sort,
            "dir": "desc" if self.descending else "asc",
            "page": self.page,
            "q": self.text,
            "state": self.state,
        }
        return drop_empty({**values, **changes})

    def toggled(self, column: str) -> dict[str, Any]:
        descending = not self.descending if column == self.sort else True
        return self.link(sort=column, dir="desc" if descending else "asc", page=1)


def parse(args: Any, columns: dict[str, Any], default: str) -> TableQuery:
    sort = args.get("sort", default)
    return TableQuery(
        sort=sort if sort in columns else default,
        descending=args.get("dir", "desc") != "asc",
        page=query_int("page", 1, high=PAGE_LIMIT, args=args),
        text=args.get("q", "").strip()[:100],
        state=args.get("state", "").strip()[:16],
    )


def page_of(
    session: Session, statement: Select, columns: dict[str, Any], query: TableQuery, tiebreak
) -> tuple[list[Any], int, int]:
    """(rows, total, pages) of `statement` sorted by the query's column, then by `tiebreak` (the
    primary key), so equal values (timestamps of one second on MariaDB) keep a stable order."""
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    ordered = [columns[query.sort], tiebreak]
    order = [column.desc() if query.descending else column.asc() for column in ordered]
    rows = session.execute(
        statement.order_by(*order).limit(PAGE_SIZE).offset((query.page - 1) * PAGE_SIZE)
    ).all()
    return list(rows), total, max(1, -(-total // PAGE_SIZE))
