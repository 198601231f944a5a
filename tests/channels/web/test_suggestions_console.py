"""The console's "Improve the help center" and "Answer with an article" through the real app, the real
encoders and the web index (tests/channels/web/conftest.py), over a copy of its KB per test:
traffic made through the desk and the widget API, decisions made through the console's forms."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.answer.engine import Engine
from bot.config import Settings
from bot.desk.agents import create_agent
from bot.desk.desk import Desk
from bot.desk.hours import parse_hours
from bot.desk.turns import NotFound
from bot.store.connect import open_store
from bot.store.sql_suggestions import open_suggestion_decisions
from bot.suggestions.model import QUESTION, suggestion_id
from channels.web.app import create_app
from index.search import LiveIndex
from tests.channels.web.conftest import PASSWORD, Clock, csrf, say, sign_in, start

ACCOUNT = "I can't get into my account"  # the web index offers a choice for it (clarify margin 0.5)
PAGE = "/agent/suggestions"


@dataclass
class Site:
    app: Flask
    desk: Desk
    kb: Path
    original_kb: Path

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def agent(self) -> FlaskClient:
        client = self.client()
        sign_in(client)
        return client


@pytest.fixture(scope="module")
def choosing_engine(web_settings: Settings, real_encoders: Any) -> Engine:
    """The web index, offering choices whenever two articles are close."""
    engine = Engine(replace(web_settings, clarify_margin=0.5), real_encoders, LiveIndex(web_settings.index_dir))
    engine.warm_up()
    return engine


@pytest.fixture
def site(tmp_path: Path, web_settings: Settings, choosing_engine: Engine) -> Iterator[Site]:
    """The app over a copy of the web index's KB (accepting writes there) and a fresh store; Ayşe present."""
    kb = tmp_path / "kb"
    shutil.copytree(web_settings.kb_dir, kb)
    settings = replace(choosing_engine.settings, kb_dir=str(kb), db=str(tmp_path / "desk.db"))
    clock = Clock()
    store = open_store(settings.db, clock=clock)
    desk = Desk(choosing_engine, store, parse_hours("24/7", "UTC", ""), timedelta(minutes=30), clock=clock)
    app = create_app(settings, desk=desk, clock=clock)
    app.config.update(TESTING=True)
    desk.seen(create_agent(store, "ayse@example.com", "Ayşe", PASSWORD, ["tr", "en"]).id)
    yield Site(app, desk, kb, Path(web_settings.kb_dir))
    app.extensions["answerdesk"].reindex.wait(60)
    store.close()


# -- traffic, as customers and agents make it -------------------------------------------------
def picked(site: Site, article_id: str, text: str = ACCOUNT) -> str:
    """A customer asks, is offered choices, and picks `article_id`: a PICKED suggestion."""
    client = site.client()
    conversation_id = start(client, "en")["id"]
    assert [r["action"] for r in say(client, conversation_id, text)["replies"]] == ["clarify"]
    site.desk.choose(conversation_id, article_id)
    site.desk.clock.advance(minutes=1)  # type: ignore[attr-defined]
    return conversation_id


def handed_off(site: Site, text: str, lang: str = "en") -> tuple[FlaskClient, str]:
    client = site.client()
    conversation_id = start(client, lang)["id"]
    assert "handoff" in [r["action"] for r in say(client, conversation_id, text)["replies"]]
    return client, conversation_id


def page(client: FlaskClient, query: str = "") -> str:
    response = client.get(PAGE + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return unescape(response.get_data(as_text=True))


def form_of(html: str, suggestion: str) -> dict[str, str]:
    """The hidden fields of a suggestion's first form, as the browser sends them."""
    block = html[html.index(f'id="suggestion-{suggestion}"'):]
    form = block[: block.index("</form>")]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def post(client: FlaskClient, path: str, **form: str) -> Any:
    return client.post(path, data={"csrf_token": csrf(client), **form})


def question_id(article_id: str, text: str = ACCOUNT, lang: str = "en") -> str:
    return suggestion_id(QUESTION, article_id, lang, text)


# -- tests ------------------------------------------------------------------------------------
def test_the_page_needs_a_signed_in_agent_and_a_csrf_token(site: Site) -> None:
    client = site.client()
    response = client.get(PAGE)
    assert response.status_code == 302 and f"/agent/login?next={PAGE}" in response.headers["Location"]
    assert client.post(f"{PAGE}/{question_id('reset-password')}/accept").status_code == 400  # no token
    sign_in(client)
    assert client.post(f"{PAGE}/{question_id('reset-password')}/accept").status_code == 400  # signed in, no token
    assert client.post(f"{PAGE}/{question_id('reset-password')}/reject", data={"csrf_token": "forged"}).status_code == 400
    assert client.get(PAGE).headers["Cache-Control"] == "no-store"


def test_accept_edit_and_reject_write_the_kb_copy_and_show_the_decisions(site: Site) -> None:
    assert site.kb != site.original_kb and not str(site.kb).startswith("/work/main/kb_source")
    conversations = {a: picked(site, a) for a in ("reset-password", "delete-account", "mobile-app")}
    agent = site.agent()
    assert "Improve the help center" in agent.get("/agent/").get_data(as_text=True)
    assert 'title="open suggestions' not in agent.get("/agent/").get_data(as_text=True)  # nothing listed yet: no count

    html = page(agent)
    for article_id, conversation_id in conversations.items():
        block = html[html.index(f'id="suggestion-{question_id(article_id)}"'):]
        block = block[: block.index("</li>")]
        assert f"“{ACCOUNT}”" in block and "1 customer · picked from the offered articles" in block
        assert f'href="/agent/conversations/{conversation_id}"' in block and "2026-01-07" in block and "· web" in block
    assert 'title="open suggestions when the page was last listed">3</span>' in html
    assert ">English <code>en</code></a>" in html and "Nothing decided yet." in html

    reset = site.kb / "en" / "reset-password.md"
    original = (site.original_kb / "en" / "reset-password.md").read_text(encoding="utf-8")
    accepted = agent.post(f"{PAGE}/{question_id('reset-password')}/accept", data=form_of(html, question_id("reset-password")), follow_redirects=True)
    shown = unescape(accepted.get_data(as_text=True))
    assert accepted.status_code == 200 and "Accepted: the question is added to en/reset-password.md" in shown
    assert f"- {ACCOUNT}" in reset.read_text(encoding="utf-8") or f"- \"{ACCOUNT}\"" in reset.read_text(encoding="utf-8")
    assert (site.original_kb / "en" / "reset-password.md").read_text(encoding="utf-8") == original  # the shared KB is untouched
    assert f'id="suggestion-{question_id("reset-password")}"' not in shown
    decided = shown[shown.index(f'id="decided-{question_id("reset-password")}"'):]
    decided = decided[: decided.index("</li>")]
    assert "accepted" in decided and "by Ayşe" in decided and "File <code>en/reset-password.md</code>" in decided
    assert "before: asked which article was meant · after the last reindex: not asked yet: reindex to serve it" in decided
    assert 'title="open suggestions when the page was last listed">2</span>' in shown

    edited = "I cannot sign in to my account"
    form = form_of(shown, question_id("delete-account"))
    response = agent.post(f"{PAGE}/{question_id('delete-account')}/accept", data={**form, "text": edited}, follow_redirects=True)
    shown = unescape(response.get_data(as_text=True))
    written = (site.kb / "en" / "delete-account.md").read_text(encoding="utf-8")
    assert response.status_code == 200 and edited in written and ACCOUNT not in written
    assert f"“{ACCOUNT}” written as “{edited}”" in shown

    app_before = (site.kb / "en" / "mobile-app.md").read_bytes()
    response = agent.post(f"{PAGE}/{question_id('mobile-app')}/reject", data=form_of(shown, question_id("mobile-app")), follow_redirects=True)
    shown = unescape(response.get_data(as_text=True))
    assert response.status_code == 200 and f'Rejected "{ACCOUNT}" (en/mobile-app): it will not be offered again.' in shown
    assert (site.kb / "en" / "mobile-app.md").read_bytes() == app_before
    assert f'id="suggestion-{question_id("mobile-app")}"' not in shown and 'data-status="rejected"' in shown
    assert "Nothing to review" in shown

    again = agent.post(f"{PAGE}/{question_id('mobile-app')}/accept", data={"csrf_token": csrf(agent), "shown": ACCOUNT})
    assert again.status_code == 409 and "was rejected by Ayşe" in unescape(again.get_data(as_text=True))
    assert (site.kb / "en" / "mobile-app.md").read_bytes() == app_before

    # After a reindex the question is asked again (bot/suggestions/proof.py); the page says what the bot does now.
    open_suggestion_decisions(site.desk.store).record_results([
        (question_id("reset-password"), "answer", "reset-password"), (question_id("delete-account"), "clarify", None)])
    shown = page(agent)
    assert "after the last reindex: now answered with reset-password" in shown
    assert "after the last reindex: still not answered (asked which article was meant)" in shown


def test_a_file_changed_after_listing_is_refused_with_409_and_nothing_is_written(site: Site) -> None:
    picked(site, "reset-password")
    agent = site.agent()
    form = form_of(page(agent), question_id("reset-password"))
    assert form["seen_hash"]
    article = site.kb / "en" / "reset-password.md"
    article.write_text(article.read_text(encoding="utf-8") + "\nSaved by someone else meanwhile.\n", encoding="utf-8")
    changed = article.read_bytes()

    response = agent.post(f"{PAGE}/{question_id('reset-password')}/accept", data=form)
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 409
    assert f'Suggestion "{ACCOUNT}" ({question_id("reset-password")}) was not accepted and nothing was written' in html
    assert f"{article}: the file changed since it was read" in html
    assert article.read_bytes() == changed and open_suggestion_decisions(site.desk.store).all() == []
    assert f'id="suggestion-{question_id("reset-password")}"' in html  # still open, with the new file's hash
    assert form_of(html, question_id("reset-password"))["seen_hash"] != form["seen_hash"]


def test_the_picker_stores_the_article_links_it_for_the_customer_and_feeds_the_suggestions(site: Site) -> None:
    customer, conversation_id = handed_off(site, "kargom ne zaman gelir", "tr")
    agent = site.agent()
    assert post(agent, f"/agent/conversations/{conversation_id}/take").status_code == 302
    html = unescape(agent.get(f"/agent/conversations/{conversation_id}").get_data(as_text=True))
    picker = html[html.index('<select id="reply-article" name="article_id"'): html.index("</select>")]
    assert '<optgroup label="In Turkish"><option value="reset-password" data-line="Şifrenizi nasıl sıfırlarsınız: http://localhost/articles/tr/reset-password">' in picker
    assert '<option value="shipping" data-line="Shipping times and costs: http://localhost/articles/en/shipping">Shipping times and costs (English)</option>' in picker
    assert picker.index('label="In Turkish"') < picker.index('label="Not written in Turkish"')

    before = len(site.desk.store.list_messages(conversation_id))
    unknown = post(agent, f"/agent/conversations/{conversation_id}/reply", text="Buyrun", article_id="no-such-article")
    assert unknown.status_code == 302 and len(site.desk.store.list_messages(conversation_id)) == before
    assert "The article 'no-such-article' is not in the served index" in unescape(agent.get(f"/agent/conversations/{conversation_id}").get_data(as_text=True))

    # Without JavaScript: the select and the text; the link is added to the reply.
    assert post(agent, f"/agent/conversations/{conversation_id}/reply", text="Buyrun", article_id="shipping").status_code == 302
    reply = site.desk.store.list_messages(conversation_id)[-1]
    assert (reply.author, reply.article_id) == ("agent", "shipping")
    assert reply.text == "Buyrun\n\nShipping times and costs: http://localhost/articles/en/shipping"
    seen = customer.get(f"/api/conversations/{conversation_id}").get_json()["messages"][-1]
    assert seen["author"] == "agent" and "http://localhost/articles/en/shipping" in seen["text"]

    # console.js put the link in already: it is not added twice; the JSON answer of console.js works too.
    text = "Şuna bakın: Shipping times and costs: http://localhost/articles/en/shipping"
    sent = agent.post(f"/agent/conversations/{conversation_id}/reply", data={"text": text, "article_id": "shipping"},
                      headers={"Accept": "application/json", "X-CSRF-Token": csrf(agent)})
    assert sent.status_code == 200 and site.desk.store.list_messages(conversation_id)[-1].text == text
    assert post(agent, f"/agent/conversations/{conversation_id}/reply", text="", article_id="").status_code == 302  # nothing to send
    assert len(site.desk.store.list_messages(conversation_id)) == before + 2

    # The agent's article is a suggestion: Turkish words for an article without a Turkish version.
    html = page(agent, "?lang=tr")
    sid = question_id("shipping", "kargom ne zaman gelir", "tr")
    block = html[html.index(f'id="suggestion-{sid}"'):]
    assert "an agent answered with it · <strong>the article has no Turkish version</strong>" in block[: block.index("</li>")]
    missing = html[html.index('id="missing-title"'):]
    assert "Shipping times and costs <code>shipping</code></td><td>Turkish <code>tr</code></td><td>1</td>" in missing
    assert 'aria-current="page">Turkish <code>tr</code>' in html


def test_agent_reply_checks_the_article_is_served(site: Site) -> None:
    _, conversation_id = handed_off(site, "kargom ne zaman gelir", "tr")
    agent_id = site.desk.store.get_agent_by_email("ayse@example.com").id  # type: ignore[union-attr]
    assert site.desk.take(conversation_id, agent_id, "Ayşe")
    with pytest.raises(NotFound, match="no article 'gone' in the served index"):
        site.desk.agent_reply(conversation_id, agent_id, "see this", article_id="gone")
    assert site.desk.agent_reply(conversation_id, agent_id, "see this", article_id="refund").article_id == "refund"
    assert site.desk.agent_reply(conversation_id, agent_id, "no article").article_id is None


def test_a_draft_from_unanswered_questions_is_written_where_the_page_says_and_not_served(site: Site) -> None:
    for text in ("do you sell dog food", "can I buy pet food from you", "do you have food for cats"):
        handed_off(site, text)
        site.desk.clock.advance(minutes=1)  # type: ignore[attr-defined]
    agent = site.agent()
    html = page(agent)
    drafts = html[html.index('id="drafts-title"'): html.index('id="missing-title"')]
    [draft] = re.findall(r'<article class="suggestion draft" id="suggestion-([0-9a-f]+)"', drafts)
    assert f"Accepting writes a new file in <code>{site.kb}/<language>/</code>" in drafts and "draft: true" in drafts
    assert "3 customers · nothing answered these" in drafts

    response = agent.post(f"{PAGE}/{draft}/accept", data={
        **form_of(html, draft), "text": "Pet food", "questions": "do you sell dog food\n\ncan I buy pet food from you\n"})
    shown = unescape(agent.get(PAGE).get_data(as_text=True)) if response.status_code == 302 else ""
    assert response.status_code == 302, unescape(response.get_data(as_text=True))
    written = site.kb / "en" / "pet-food.md"
    text = written.read_text(encoding="utf-8")
    assert "title: Pet food" in text and "draft: true" in text and "- do you sell dog food" in text and "- can I buy pet food from you" in text
    assert "do you have food for cats" not in text  # the agent took it out
    assert "The draft is written to en/pet-food.md" in shown and "removes the line `draft: true`" in shown
    assert "File <code>en/pet-food.md</code>" in shown and not (site.original_kb / "en" / "pet-food.md").exists()


def test_a_suggestion_decided_in_another_tab_is_named_in_the_error(site: Site) -> None:
    picked(site, "reset-password")
    agent, other = site.agent(), site.agent()
    form = form_of(page(agent), question_id("reset-password"))
    assert other.post(f"{PAGE}/{question_id('reset-password')}/reject", data={**form, "csrf_token": csrf(other)}).status_code == 302
    response = agent.post(f"{PAGE}/{question_id('reset-password')}/accept", data=form)
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 409
    assert f'Suggestion "{ACCOUNT}" ({question_id("reset-password")}) was not accepted: suggestion {question_id("reset-password")} was rejected by Ayşe' in html
    assert "- I can't get into my account" not in (site.kb / "en" / "reset-password.md").read_text(encoding="utf-8")


def test_accept_all_writes_an_articles_group_in_one_save_and_names_what_failed(site: Site) -> None:
    other = "I cannot access my account"
    picked(site, "reset-password")
    picked(site, "reset-password", other)
    picked(site, "mobile-app")
    agent = site.agent()
    html = page(agent)
    group = html[html.index('id="article-en-reset-password"'):]
    group = group[: group.index("</article>")]
    form = group[group.index('class="accept-all"'): group.index("</form>")]
    ids = re.findall(r'name="ids" value="([^"]+)"', form)
    assert sorted(ids) == sorted([question_id("reset-password"), question_id("reset-password", other)])
    assert "Accept all 2 questions as written" in form
    assert 'class="accept-all"' not in html[html.index('id="article-en-mobile-app"'):].split("</article>")[0]  # one question: its own buttons
    seen_hash = re.search(r'name="seen_hash" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]

    article = site.kb / "en" / "reset-password.md"
    before = article.read_text(encoding="utf-8").splitlines()
    backups = article.parent / ".backup"
    response = agent.post(f"{PAGE}/accept-all", data={"csrf_token": csrf(agent), "ids": ids, "seen_hash": seen_hash}, follow_redirects=True)
    shown = unescape(response.get_data(as_text=True))
    assert response.status_code == 200 and "Accepted 2 questions: added to en/reset-password.md." in shown
    added = [line for line in article.read_text(encoding="utf-8").splitlines() if line not in before]
    assert len(added) == 2 and any(ACCOUNT in line for line in added) and any(other in line for line in added)
    assert len(list(backups.glob("reset-password*"))) == 1  # one save of the file
    assert 'id="article-en-reset-password"' not in shown and 'id="article-en-mobile-app"' in shown

    again = agent.post(f"{PAGE}/accept-all", data={"csrf_token": csrf(agent), "ids": [question_id("mobile-app"), ids[0]]})
    text = unescape(again.get_data(as_text=True))
    assert again.status_code == 409 and "Accepted 1 question: added to en/mobile-app.md." in text
    assert f"Suggestion {ids[0]} was not accepted: suggestion {ids[0]} was accepted by Ayşe" in text
    assert len(open_suggestion_decisions(site.desk.store).all()) == 3
