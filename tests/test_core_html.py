"""cs231n.core.html: the pieces of the project's pages, escaped, nested, and whole pages."""

import base64

from cs231n.core import html


def test_text_is_escaped_and_html_is_not():
    assert html.escape('<b> & "x"') == "&lt;b&gt; &amp; &quot;x&quot;"
    assert html.escape(html.bold("x")) == "<b>x</b>"
    assert html.escape(3.5) == "3.5"
    assert html.paragraph("a < b", html.bold("c")) == "<p>a &lt; b<b>c</b></p>"


def test_attributes_are_escaped():
    assert html.link("a.html?x=1&y=2", "<more>") == '<a href="a.html?x=1&amp;y=2">&lt;more&gt;</a>'
    assert (
        html.image('x".png', "an 'image'") == '<img src="x&quot;.png" alt="an &#x27;image&#x27;">'
    )
    assert html.element("div", "x", class_="card") == '<div class="card">x</div>'


def test_figure_list_preformatted_comment():
    assert html.figure("a.png", "A & B") == (
        '<figure><img src="a.png" alt="A &amp; B"><figcaption>A &amp; B</figcaption></figure>'
    )
    assert html.bullet_list(["a", "<b>"]) == "<ul><li>a</li><li>&lt;b&gt;</li></ul>"
    assert html.preformatted("a\n  b") == "<pre>a\n  b</pre>"
    assert html.preformatted("x", class_="notice") == '<pre class="notice">x</pre>'
    assert html.comment('{"a": "<b>"}') == "<!-- {&quot;a&quot;: &quot;&lt;b&gt;&quot;} -->"


def test_table_formats_floats_to_four_digits():
    table = html.table(["name", "value"], [["pi", 3.14159265], ["n", 7], ["<x>", "-"]])
    assert table == (
        "<table><tr><th>name</th><th>value</th></tr>"
        "<tr><td>pi</td><td>3.142</td></tr><tr><td>n</td><td>7</td></tr>"
        "<tr><td>&lt;x&gt;</td><td>-</td></tr></table>"
    )


def test_section_with_and_without_note():
    assert html.section("T", [html.paragraph("p")]) == "<section><h2>T</h2><p>p</p></section>"
    assert html.section("T <1>", [], note="(ok, 3 s)") == (
        "<section><h2>T &lt;1&gt; <small>(ok, 3 s)</small></h2></section>"
    )


def test_page_has_the_style_the_title_and_the_blocks(tmp_path):
    text = html.page("Tab <1>", [html.paragraph("one"), "two & three"], heading="Heading")
    assert text.startswith("<!doctype html>\n") and text.endswith("</body></html>\n")
    assert "<title>Tab &lt;1&gt;</title>" in text and f"<style>{html.STYLE}</style>" in text
    assert "<h1>Heading</h1>\n<p>one</p>\ntwo &amp; three\n</body>" in text
    assert "<h1>Tab &lt;1&gt;</h1>" in html.page("Tab <1>", [])
    path = html.write_page(tmp_path / "p.html", text)
    assert path == tmp_path / "p.html" and path.read_text(encoding="utf-8") == text


def test_data_url():
    url = html.data_url(b"\x89PNG")
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == b"\x89PNG"
    assert html.data_url(b"x", "text/plain") == "data:text/plain;base64,eA=="
