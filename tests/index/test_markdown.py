"""The one Markdown reading (index/markdown.py), and every consumer rendering from it."""

from __future__ import annotations

from channels.slack.render import mrkdwn
from channels.telegram.render import to_html
from channels.web.pages import render_markdown
from index.kb import Article
from index.markdown import Block, Span, lay_out, plain, read, render_html
from index.passages import plain_text, split_article


def text(value: str) -> Span:
    return Span("text", value)


def test_headings_paragraphs_and_lists_are_blocks_with_their_place() -> None:
    blocks = read("# Title\n\nFirst line\nsecond line\n\n## Steps\n- one\n- two\n  1. nested\n\n3) three")
    assert [(b.kind, b.level, b.marker, b.depth, b.gap) for b in blocks] == [
        ("heading", 1, "", 0, 0),
        ("paragraph", 0, "", 0, 1),
        ("heading", 2, "", 0, 1),
        ("paragraph", 0, "-", 1, 0),
        ("paragraph", 0, "-", 1, 0),
        ("paragraph", 0, "1.", 2, 0),
        ("paragraph", 0, "3)", 1, 1),
    ]
    assert blocks[1].spans == (text("First line"), Span("break"), text("second line"))
    assert (blocks[1].start, blocks[1].end) == (2, 4)


def test_setext_headings_are_headings_and_a_hash_needs_a_space() -> None:
    blocks = read("Fees\n====\n\n#hashtag")
    assert [(b.kind, plain(b.spans)) for b in blocks] == [("heading", "Fees"), ("paragraph", "#hashtag")]


def test_nested_emphasis_and_links_are_a_tree_of_spans() -> None:
    [block] = read("**bold _italic [link](https://x.y/a_(b))_** and ~~gone~~")
    link = Span("link", children=(text("link"),), href="https://x.y/a_(b)")
    italic = Span("italic", children=(text("italic "), link))
    assert block.spans == (Span("bold", children=(text("bold "), italic)), text(" and "), Span("strike", children=(text("gone"),)))
    assert plain(block.spans) == "bold italic link and gone"


def test_code_spans_and_fences_keep_their_characters() -> None:
    blocks = read("Call `snake_case(**kw)` now.\n\n```python\n# not a heading\nx = a**2\n```\n\n    indented")
    assert blocks[0].spans == (text("Call "), Span("code", "snake_case(**kw)"), text(" now."))
    assert [(b.kind, b.text, b.info) for b in blocks[1:]] == [("code", "# not a heading\nx = a**2", "python"), ("code", "indented", "")]


def test_escapes_and_entities_are_resolved_raw_html_is_text_and_unsafe_links_are_no_links() -> None:
    [block] = read("\\*not italic\\* AT&amp;T <b>x</b> [bad](javascript:alert(1))")
    assert plain(block.spans) == "*not italic* AT&T <b>x</b> [bad](javascript:alert(1))"
    assert all(span.kind == "text" for span in block.spans)
    assert "&lt;b&gt;x&lt;/b&gt;" in render_html("<b>x</b>") and "<a" not in render_html("[bad](javascript:alert(1))")


def test_quotes_tables_rules_and_images() -> None:
    blocks = read("> quoted\n>\n> again\n\n| a | b |\n|---|---|\n| `c` | d |\n\n***\n\n![logo](https://x.y/l.png)")
    assert [(b.kind, b.quote, b.gap) for b in blocks] == [("paragraph", 1, 0), ("paragraph", 1, 1), ("table", 0, 1), ("rule", 0, 1), ("paragraph", 0, 1)]
    assert blocks[2].rows == (((text("a"),), (text("b"),)), ((Span("code", "c"),), (text("d"),)))
    assert blocks[4].spans == (Span("image", "logo", href="https://x.y/l.png"),)


def test_an_empty_list_item_keeps_its_marker() -> None:
    blocks = read("1. Send an e-mail.\n2.\n\nDone.")
    assert [(b.marker, plain(b.spans), b.gap) for b in blocks] == [("1.", "Send an e-mail.", 0), ("2.", "", 0), ("", "Done.", 1)]


def test_lay_out_keeps_the_source_lines_markers_and_quotes() -> None:
    def render(block: Block) -> str:
        return block.text if block.kind == "code" else "".join("\n" if s.kind == "break" else s.text for s in block.spans).upper()

    source = "## Steps\n\n- one\n- two\n  wrapped\n  - nested\n\n> said\n\n```\ncode\n  kept\n```"
    assert lay_out(read(source), render, "> ") == "STEPS\n\n- ONE\n- TWO\n  WRAPPED\n  - NESTED\n\n> SAID\n\ncode\n  kept"


# -- every consumer renders from the reading -----------------------------------------------------
# Each line below is something the old per-consumer regexes got wrong: `**` and `_` inside code,
# a URL with parentheses, Markdown's *italic* (Slack's *bold*), a heading inside a code fence.
TRICKY = "Use `**kwargs**` and `a_b`, see [wiki](https://e.org/Foo_(bar)) *now*.\n\n```\n# not a heading\n```"


def test_slack_renders_the_reading_as_mrkdwn() -> None:
    assert mrkdwn(TRICKY) == "Use `**kwargs**` and `a_b`, see <https://e.org/Foo_(bar)|wiki> _now_.\n\n```\n# not a heading\n```"
    assert mrkdwn("**bold with a [link](https://x.y) inside**") == "*bold with a <https://x.y|link> inside*"
    assert mrkdwn("## Fees **now**\n1 < 2 & 3 > 0") == "*Fees now*\n1 &lt; 2 &amp; 3 &gt; 0"


def test_telegram_renders_the_reading_as_html() -> None:
    assert to_html(TRICKY) == (
        'Use <code>**kwargs**</code> and <code>a_b</code>, see <a href="https://e.org/Foo_(bar)">wiki</a> <i>now</i>.\n\n'
        "<pre># not a heading</pre>"
    )
    assert to_html("**bold with a [link](https://x.y) inside**") == '<b>bold with a <a href="https://x.y">link</a> inside</b>'
    # Telegram nests no code in bold and no link in a link; a relative link has no URL to open
    assert to_html("**`/human`** [![logo](https://x.y/l.png)](https://x.y) [home](/articles)") == (
        '<b>/human</b> <a href="https://x.y">logo</a> home'
    )


def test_passages_are_the_reading_as_plain_text_and_keep_their_old_spacing() -> None:
    body = "Intro with **bold**. More.\n\n## Steps\n\n1. **Open** the app.\n2. Send `/human`.\n\n```\n# not a heading\nx = a_b\n```"
    passages = [p.text for p in split_article(Article("a", "en", "Title", body)) if p.kind == "passage"]
    # markup leaves a space where it was ("bold ."): the index and the benchmarks were built on that
    assert passages == ["Title. Intro with bold . More.", "Title: Steps. 1. Open the app. 2. Send /human .", "Title: Steps. # not a heading x = a_b"]
    assert plain_text("## Steps\n\n- **Open** it") == "Steps\n\n-  Open  it"


def test_the_help_center_page_renders_the_same_parse() -> None:
    source = "# T\n\n| a | b |\n|---|---|\n| ~~c~~ | <i>d</i> |"
    assert str(render_markdown(source)) == render_html(source)
    assert "<table>" in render_html(source) and "<s>c</s>" in render_html(source) and "&lt;i&gt;d&lt;/i&gt;" in render_html(source)
