"""The HTML of every page the project writes (the demo's report, the captions page): one style
sheet, a page around it, and small functions that each return one piece of HTML.

Every function escapes the text it is given; what they return is :class:`Html`, which the
others insert as it is. So pieces nest (``paragraph(link("a.html", "more"))``) and no text
can inject markup, whatever its source (captions, file names, error messages).
"""

from __future__ import annotations

import base64
import html as _html

from .files import atomic_path


class Html(str):
    """Text that already is HTML: inserted as it is where plain text would be escaped."""


def escape(text) -> Html:
    """``text`` (any value, shown as ``str``) as HTML text; :class:`Html` stays as it is."""
    if isinstance(text, Html):
        return text
    return Html(_html.escape(str(text)))


def join(parts, separator="") -> Html:
    """The pieces (text or :class:`Html`) one after the other."""
    return Html(separator.join(escape(p) for p in parts))


def element(tag, *children, **attributes) -> Html:
    """``<tag name="value">children</tag>``; ``class_="x"`` writes ``class="x"``."""
    return Html(f"<{tag}{_attributes(attributes)}>{join(children)}</{tag}>")


def _attributes(attributes) -> str:
    return "".join(f' {name.rstrip("_")}="{escape(v)}"' for name, v in attributes.items())


# One style sheet for every page. The captions page's rules are scoped to its cards so that
# they do not change the report's paragraphs and lists.
STYLE = """body{font-family:sans-serif;margin:2em;max-width:1200px} img{max-width:100%}
figure{display:inline-block;margin:.5em;vertical-align:top} figcaption{font-size:.85em;color:#444}
table{border-collapse:collapse;margin:1em 0} td,th{border:1px solid #ccc;padding:.3em .6em}
small{color:#666;font-weight:normal}
.card{display:flex;gap:1em;margin:1em 0;padding:1em;border:1px solid #ccc;border-radius:6px}
.card img{width:192px;height:auto;image-rendering:pixelated} .card p{margin:.2em 0}
.card ul{margin:.2em 0;color:#555}"""


def page(title, blocks, heading=None) -> str:
    """A whole document: ``title`` in the browser's tab, ``heading`` (default: the title) as
    its ``<h1>``, then the blocks, one a line."""
    body = join(blocks, "\n")
    return (
        "<!doctype html>\n"
        f'<html><head><meta charset="utf-8"><title>{escape(title)}</title>\n'
        f"<style>{STYLE}</style></head>\n"
        f"<body><h1>{escape(title if heading is None else heading)}</h1>\n"
        f"{body}\n"
        "</body></html>\n"
    )


def write_page(path, text):
    """Write a page atomically (a reader never sees half of it); returns ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def section(title, blocks, note=None) -> Html:
    """``<section>`` headed by ``title`` (``<h2>``) and ``note`` in small print after it."""
    heading = [title] if note is None else [title, " ", element("small", note)]
    return element("section", element("h2", *heading), *blocks)


def paragraph(*parts) -> Html:
    return element("p", *parts)


def bold(text) -> Html:
    return element("b", text)


def preformatted(text, class_=None) -> Html:
    """``<pre>``: text shown as it is, line breaks and spaces kept."""
    attributes = {} if class_ is None else {"class_": class_}
    return element("pre", text, **attributes)


def link(href, text) -> Html:
    return element("a", text, href=href)


def image(src, alt) -> Html:
    return Html(f"<img{_attributes({'src': src, 'alt': alt})}>")


def figure(src, caption) -> Html:
    """An image with its caption under it (the caption is also its ``alt`` text)."""
    return element("figure", image(src, caption), element("figcaption", caption))


def bullet_list(items) -> Html:
    return element("ul", *(element("li", item) for item in items))


def cell_text(value) -> str:
    """A table cell's text: floats to 4 significant digits, anything else as ``str``."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table(header, rows) -> Html:
    """A table with one header row; cells are shown by :func:`cell_text`."""
    head = element("tr", *(element("th", cell_text(h)) for h in header))
    body = [element("tr", *(element("td", cell_text(c)) for c in row)) for row in rows]
    return element("table", head, *body)


def comment(text) -> Html:
    """``<!-- text -->``: data for programs reading the page, not shown."""
    return Html(f"<!-- {escape(text)} -->")


def data_url(data: bytes, media_type="image/png") -> str:
    """``data`` inlined as a URL (``data:image/png;base64,...``): a page that needs no other
    file."""
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"
