"""The console's Translations page through the real app: stale translations listed and counted in
the nav, marked checked (signed in, CSRF), and cleared at the next reindex or by editing them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.answer.engine import Engine
from bot.answer.phrases import phrase
from bot.config import Settings
from bot.desk.agents import create_agent
from bot.desk.desk import Desk
from bot.desk.hours import parse_hours
from bot.reindex.run import reindex
from bot.store.model import Store
from bot.store.connect import open_store
from bot.store.sql_translations import open_translation_checks
from channels.web.app import create_app
from index.encoders import HashEncoder
from index.search import LiveIndex
from tests.channels.web.conftest import PASSWORD, Clock, csrf, say, sign_in, start
from tests.conftest import write_article

ENCODER = HashEncoder()
EN_BODY = "Open Settings, choose Security and press Reset password. We e-mail you a link."
TR_BODY = "Ayarlar'ı açın, Güvenlik'i seçin ve Şifreyi sıfırla'ya basın."
TR_QUESTION = "Şifrenizi nasıl sıfırlarsınız"
OLDER_TR = phrase("translation_older", "tr", source_lang_name="İngilizce", date="2026-03-12")
NAV_COUNT = 'Translations <span class="count" title="translations older than their source">1</span>'


def version(kb: Path, lang: str, title: str, body: str, updated: str, article_id: str = "reset-password") -> Path:
    return write_article(kb, lang, article_id, "", raw_front=f"---\nid: {article_id}\nlang: {lang}\ntitle: {title}\nupdated: {updated}\n---\n{body}\n")


@dataclass
class Site:
    app: Flask
    store: Store
    kb: Path

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def agent_id(self) -> str:
        agent = self.store.get_agent_by_email("ayse@example.com")
        assert agent is not None
        return agent.id


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """An app over a KB whose Turkish translation went stale: English edited after both were indexed."""
    kb = tmp_path / "kb"
    version(kb, "en", "How to reset your password", EN_BODY, "2026-01-05")
    version(kb, "tr", "Şifrenizi nasıl sıfırlarsınız", TR_BODY, "2026-01-20")
    version(kb, "en", "Shipping times", "Orders ship in 2 business days.", "2026-01-05", article_id="shipping")
    clock = Clock()
    settings = Settings(
        kb_dir=str(kb), index_dir=str(tmp_path / "index"), encoder="hash", db=str(tmp_path / "desk.db"), lang_backend="langdetect"
    )
    store = open_store(settings.db, clock=clock)
    reindex(settings, encoder=ENCODER, store=store, out=io.StringIO())
    version(kb, "en", "How to reset your password", EN_BODY + " The link is valid for one hour.", "2026-03-12")
    reindex(settings, encoder=ENCODER, store=store, out=io.StringIO())
    desk = Desk(Engine(settings, ENCODER, LiveIndex(settings.index_dir)), store, parse_hours("24/7", "UTC", ""), clock=clock)
    app = create_app(settings, desk=desk, clock=clock)
    app.config.update(TESTING=True)
    create_agent(store, "ayse@example.com", "Ayşe", PASSWORD, ["tr", "en"])
    yield Site(app, store, kb)
    app.extensions["answerdesk"].reindex.wait(60)
    store.close()


def turkish_answer(site: Site) -> str:
    client = site.client()
    turn = say(client, start(client, "tr")["id"], TR_QUESTION)
    [reply] = [r for r in turn["replies"] if r["action"] == "answer"]
    return reply["text"]


def console_reindex(site: Site, client: FlaskClient) -> None:
    assert client.post("/agent/reindex", data={"csrf_token": csrf(client)}).status_code == 302
    assert site.app.extensions["answerdesk"].reindex.wait(60).state == "done"


def test_the_page_needs_a_signed_in_agent(site: Site) -> None:
    client = site.client()
    response = client.get("/agent/translations")
    assert response.status_code == 302 and "/agent/login?next=/agent/translations" in response.headers["Location"]
    assert client.post("/agent/translations/reset-password/tr/checked").status_code == 400  # no CSRF token


def test_a_stale_translation_is_listed_counted_and_cleared_by_marking_it_checked(site: Site) -> None:
    client = site.client()
    sign_in(client)
    assert NAV_COUNT in client.get("/agent/").get_data(as_text=True)
    page = client.get("/agent/translations")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert str(site.kb / "tr" / "reset-password.md") in html and str(site.kb / "en" / "reset-password.md") in html
    assert "2026-03-12" in html and "Mark as checked" in html and NAV_COUNT in html
    assert OLDER_TR in turkish_answer(site)

    assert client.post("/agent/translations/reset-password/tr/checked").status_code == 400  # signed in, but no CSRF token
    assert NAV_COUNT in client.get("/agent/translations").get_data(as_text=True)
    done = client.post("/agent/translations/reset-password/tr/checked", data={"csrf_token": csrf(client)}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "is marked checked" in html and "Every translation is as new as its source" in html
    assert NAV_COUNT not in html and 'class="count" title="translations' not in client.get("/agent/").get_data(as_text=True)
    check = open_translation_checks(site.store).get("reset-password", "tr")
    assert check is not None and check.checked_by == site.agent_id()

    assert OLDER_TR in turkish_answer(site)  # the bot's line goes at the next reindex
    console_reindex(site, client)
    assert OLDER_TR not in turkish_answer(site)
    assert "Every translation is as new as its source" in client.get("/agent/translations").get_data(as_text=True)


def test_editing_the_translation_clears_it_at_the_next_reindex(site: Site) -> None:
    client = site.client()
    sign_in(client)
    version(site.kb, "tr", "Şifrenizi nasıl sıfırlarsınız", TR_BODY + " Bağlantı bir saat geçerlidir.", "2026-03-13")
    assert NAV_COUNT in client.get("/agent/translations").get_data(as_text=True)  # until the reindex reads it
    console_reindex(site, client)
    assert "Every translation is as new as its source" in client.get("/agent/translations").get_data(as_text=True)
    assert OLDER_TR not in turkish_answer(site)
    assert open_translation_checks(site.store).get("reset-password", "tr").checked_by is None  # recorded as written


def test_marking_what_is_no_translation_is_a_404(site: Site) -> None:
    client = site.client()
    sign_in(client)
    response = client.post("/agent/translations/reset-password/en/checked", data={"csrf_token": csrf(client)})
    assert response.status_code == 404
