"""The help-center pages: the article list per language and each article, with the widget on them."""

from __future__ import annotations

import re
from pathlib import Path

from tests.channels.web.conftest import Web

WIDGET_TAG = '<script src="/static/widget.js" defer></script>'


def test_home_lists_the_articles_of_every_language_with_the_widget(web: Web) -> None:
    response = web.client().get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Answerdesk Demo Help Center" in page
    assert WIDGET_TAG in page
    for lang in ["en", "tr", "ar"]:
        assert f'id="lang-{lang}"' in page
    assert 'href="/articles/en/reset-password"' in page and 'href="/articles/tr/reset-password"' in page
    assert 'href="/articles/ar/refund"' in page and "الاسترداد والإرجاع" in page
    assert re.search(r'<section class="lang-section" id="lang-ar" lang="ar" dir="rtl"', page)


def test_home_lists_the_visitors_languages_first(web: Web) -> None:
    def order(accept: str | None) -> list[str]:
        headers = {"Accept-Language": accept} if accept else {}
        return re.findall(r'<section class="lang-section" id="lang-(\w+)"', web.client().get("/", headers=headers).get_data(as_text=True))

    assert order(None)[0] == "en"  # no preference: the bot's default language first, not Arabic by its code
    assert order("tr-TR,ar;q=0.8,en;q=0.5")[:3] == ["tr", "ar", "en"]
    assert order("de-DE,ar;q=0.9")[0] == "ar"  # no German articles: the next language asked for
    assert sorted(order("tr")) == sorted(order(None))  # every language is still listed


def test_article_is_rendered_markdown_with_raw_html_escaped(web: Web) -> None:
    response = web.client().get("/articles/en/gift-cards")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and WIDGET_TAG in page
    assert "<h1>Gift cards</h1>" in page
    assert "<h2>Lost a card?</h2>" in page and "<strong>Contact us</strong>" in page
    assert '<script>alert("kb")</script>' not in page and "&lt;script&gt;" in page
    assert 'Last updated <time datetime="2026-01-05">2026-01-05</time>' in page
    assert '<html lang="en" dir="ltr">' in page


def test_article_links_its_other_languages_and_arabic_is_rtl(web: Web) -> None:
    english = web.client().get("/articles/en/refund").get_data(as_text=True)
    assert 'href="/articles/ar/refund" hreflang="ar"' in english
    arabic = web.client().get("/articles/ar/refund")
    page = arabic.get_data(as_text=True)
    assert arabic.status_code == 200 and '<html lang="ar" dir="rtl">' in page
    assert "الاسترداد والإرجاع" in page and 'href="/articles/en/refund" hreflang="en"' in page


def test_missing_article_or_version_is_404(web: Web) -> None:
    assert web.client().get("/articles/en/no-such-article").status_code == 404
    missing = web.client().get("/articles/ar/shipping")
    assert missing.status_code == 404 and "shipping" in missing.get_data(as_text=True)


def test_pages_load_nothing_from_the_internet(web: Web) -> None:
    client = web.client()
    pages = [client.get("/"), client.get("/articles/en/gift-cards"), client.get("/agent/login")]
    static = Path(__file__).parents[3] / "channels" / "web" / "static"
    texts = [p.get_data(as_text=True) for p in pages] + [(static / name).read_text(encoding="utf-8") for name in ("site.css", "console.css", "console.js")]
    for text in texts:
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
        assert "@import" not in text and "fonts.googleapis" not in text
    for response in pages:
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy


def test_static_files_are_served(web: Web) -> None:
    client = web.client()
    for name in ["site.css", "console.css", "console.js"]:
        response = client.get(f"/static/{name}")
        assert response.status_code == 200
        response.close()
