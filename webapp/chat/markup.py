"""Markdown in messages, rendered on the server: bold, italics (the roleplay *actions*), lists,
code, quotes, tables, links. markdown-it-py parses (raw HTML off, images off: a reply never loads
anything from elsewhere), nh3 then keeps only the tags below."""

from __future__ import annotations

import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_PARSER = (
    MarkdownIt("commonmark", {"breaks": True, "html": False})
    .enable(["table", "strikethrough"])
    .disable(["image"])
)
TAGS = {
    "p", "br", "strong", "em", "s", "del", "code", "pre", "blockquote", "ul", "ol", "li", "hr", "a",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ATTRIBUTES = {"a": {"href"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}


# Text with none of these is plain paragraphs: it is rendered without the parser (most chat
# messages; the parser costs ~0.3 ms a message). A test holds the two paths to the same output.
_MARKUP = re.compile(
    r"[*_`#>\-+|~\[\]<&\\=\r\xa0\x00-\x08\x0b\x0c\x0e-\x1f]|^[ \t]|[ \t]$|^\d+[.)]|^\s*$",
    re.MULTILINE,
)


def to_html(text: str) -> Markup:
    text = (text or "").strip("\n")
    if not text:
        return Markup("")
    if _MARKUP.search(text) is None:
        # No < > & in it (the pattern above): nothing to escape.
        return Markup("<p>" + text.replace("\n", "<br>\n") + "</p>\n")  # noqa: S704
    return _parsed(text)


@lru_cache(maxsize=4096)
def _parsed(text: str) -> Markup:
    html = _PARSER.render(text)
    return Markup(  # noqa: S704 -- sanitised by nh3 to the tags above
        nh3.clean(
            html,
            tags=TAGS,
            attributes=ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer nofollow",
            filter_style_properties={"text-align"},
        )
    )
