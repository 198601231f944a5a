"""'Improve the help center' and 'Answer with an article' in a real browser (the system Chromium),
against the real app and encoders over a copy of the module's KB. With ANSWERDESK_SCREENSHOTS=1
(`make screenshots`) the screenshot goes to docs/suggestions.png, like test_browser.py's."""

from __future__ import annotations

import json
import re
import urllib.request
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.channels.web.browser_support import (  # noqa: F401  (fixtures)
    AGENT_EMAIL,
    AGENT_NAME,
    AGENT_PASSWORD,
    Contexts,
    LiveServer,
    Site,
    browser,
    contexts,
    web_index,
)
from tests.channels.web.conftest import say, start

ACCOUNT = "I can't get into my account"  # offered choices with a wide clarify margin
ACCESS = "I cannot access my account"  # so is this


@pytest.fixture(scope="module")
def site(web_index: Path, real_encoders: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The module's index served over a copy of its KB (accepting writes there), choices offered widely, one agent."""
    from bot.answer.engine import Engine
    from bot.config import Settings
    from bot.desk.agents import create_agent
    from bot.desk.desk import Desk
    from bot.desk.hours import parse_hours
    from bot.store.connect import open_store
    from channels.web.app import create_app
    from index.search import LiveIndex

    root = tmp_path_factory.mktemp("suggestions")
    shutil.copytree(web_index / "kb", root / "kb")
    settings = Settings(kb_dir=str(root / "kb"), index_dir=str(web_index / "index"), db=str(root / "desk.db"), hours="24/7", clarify_margin=0.5)
    engine = Engine(settings, real_encoders, LiveIndex(settings.index_dir))
    engine.warm_up()
    store = open_store(settings.db)
    desk = Desk(engine, store, parse_hours("24/7", "UTC", ""), agent_wait=timedelta(minutes=30))
    desk.seen(create_agent(store, AGENT_EMAIL, AGENT_NAME, AGENT_PASSWORD, ["en", "tr"]).id)
    app = create_app(settings, desk)
    app.config.update(SSE_POLL_SECONDS=0.1, SSE_MAX_SECONDS=20.0)
    for article_id in ("reset-password", "delete-account", "mobile-app", "refund"):  # each a customer of their own (cookie)
        customer = app.test_client()
        conversation_id = start(customer, "en")["id"]
        assert [r["action"] for r in say(customer, conversation_id, ACCOUNT)["replies"]] == ["clarify"]
        desk.choose(conversation_id, article_id)
    customer = app.test_client()  # a second question for refund: its group gets "Accept all"
    conversation_id = start(customer, "en")["id"]
    assert [r["action"] for r in say(customer, conversation_id, ACCESS)["replies"]] == ["clarify"]
    desk.choose(conversation_id, "refund")
    for text in ("do you sell dog food", "can I buy pet food from you", "do you have food for cats"):
        customer = app.test_client()
        conversation_id = start(customer, "en")["id"]
        say(customer, conversation_id, text)
        said = [(m.action, (m.decision or {}).get("reason")) for m in store.list_messages(conversation_id) if m.author == "bot"]
        assert ("handoff", "not_covered") in said, (text, said)
    with LiveServer(app) as server:
        yield Site(server.url, desk, settings)


def signed_in(contexts: Contexts, site: Site) -> Any:
    page = contexts.open(viewport={"width": 1200, "height": 900}).new_page()
    page.goto(site.url + "/agent/login")
    page.get_by_label("E-mail address").fill(AGENT_EMAIL)
    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return page


def suggestion(page: Any, article_id: str) -> Any:
    return page.locator(f"#article-en-{article_id} li.suggestion").filter(has_text=ACCOUNT)


def test_an_agent_accepts_edits_rejects_and_drafts_from_the_console(site: Site, contexts: Contexts, expect: Any, shots: Path) -> None:
    kb = Path(site.settings.kb_dir)
    page = signed_in(contexts, site)
    page.get_by_role("link", name="Improve the help center").click()
    expect(page.get_by_role("heading", name="Improve the help center")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^Improve the help center")).locator(".count")).to_have_text("6")  # 5 questions and a draft
    expect(suggestion(page, "reset-password")).to_contain_text("1 customer · picked from the offered articles")

    suggestion(page, "reset-password").get_by_role("button", name="Accept", exact=True).click()
    expect(page.locator(".flash-info")).to_contain_text("Accepted: the question is added to en/reset-password.md")
    assert ACCOUNT in (kb / "en" / "reset-password.md").read_text(encoding="utf-8")
    expect(suggestion(page, "reset-password")).to_have_count(0)

    edit = suggestion(page, "delete-account")
    edit.get_by_text("Edit", exact=True).click()
    edit.get_by_label("The question as it should be written").fill("I cannot sign in to my account")
    edit.get_by_role("button", name="Accept the edited question").click()
    expect(page.locator(".flash-info")).to_contain_text("en/delete-account.md")
    assert "I cannot sign in to my account" in (kb / "en" / "delete-account.md").read_text(encoding="utf-8")

    suggestion(page, "mobile-app").get_by_role("button", name="Reject").click()
    expect(page.locator(".flash-info")).to_contain_text("it will not be offered again")
    assert ACCOUNT not in (kb / "en" / "mobile-app.md").read_text(encoding="utf-8")

    draft = page.locator("article.suggestion.draft")
    expect(draft).to_have_count(1)
    expect(draft).to_contain_text("3 customers · nothing answered these")
    draft.get_by_label("Title").fill("Pet food")
    draft.get_by_role("button", name="Accept: write the draft").click()
    expect(page.locator(".flash-info")).to_contain_text("The draft is written to en/pet-food.md")
    assert "draft: true" in (kb / "en" / "pet-food.md").read_text(encoding="utf-8")

    decided = page.locator("ul.decided > li")
    expect(decided).to_have_count(4)
    expect(page.locator('li[data-status="rejected"]')).to_contain_text(ACCOUNT)
    expect(decided.filter(has_text="written as “I cannot sign in to my account”")).to_contain_text("by Ayşe")
    expect(decided.filter(has_text="en/reset-password.md")).to_contain_text("before: asked which article was meant")
    expect(suggestion(page, "refund")).to_be_visible()  # the group left open, two questions
    expect(page.get_by_role("link", name=re.compile("^Improve the help center")).locator(".count")).to_have_text("2")
    page.screenshot(path=str(shots / "suggestions.png"), full_page=True, animations="disabled")

    page.locator("#article-en-refund").get_by_role("button", name="Accept all 2 questions as written").click()
    expect(page.locator(".flash-info")).to_contain_text("Accepted 2 questions: added to en/refund.md")
    refund = (kb / "en" / "refund.md").read_text(encoding="utf-8")
    assert ACCOUNT in refund and ACCESS in refund
    expect(page.locator("#article-en-refund")).to_have_count(0)
    expect(decided).to_have_count(6)


def test_answer_with_an_article_puts_its_link_in_the_reply(site: Site, contexts: Contexts, expect: Any) -> None:
    """The customer asks over the widget's API; the agent picks an article in the browser, with console.js."""
    page = signed_in(contexts, site)

    def api(path: str, body: dict[str, Any] | None = None, cookie: str = "") -> tuple[dict[str, Any], str]:
        request = urllib.request.Request(site.url + path, data=json.dumps(body or {}).encode(), method="POST",
                                         headers={"Content-Type": "application/json", "Cookie": cookie})
        with urllib.request.urlopen(request) as response:
            return json.loads(response.read()), response.headers.get("Set-Cookie", "").split(";")[0]

    opened, cookie = api("/api/conversations", {"lang": "en"})
    api(f"/api/conversations/{opened['id']}/messages", {"text": "the parcel came broken, what now"}, cookie)
    page.goto(f"{site.url}/agent/conversations/{opened['id']}")
    page.get_by_role("button", name="Take this conversation").click()
    reply = page.get_by_label("Reply to the customer")
    reply.fill("Sorry to hear that! You can send it back:")
    page.get_by_label(re.compile("^Answer with an article")).select_option(label="Refunds and returns")
    expect(reply).to_have_value(re.compile(r"^Sorry to hear that! You can send it back:\n\nRefunds and returns: http://127\.0\.0\.1:\d+/articles/en/refund$"))
    page.get_by_role("button", name="Send").click()
    expect(page.locator('#transcript .msg-agent').last).to_contain_text("/articles/en/refund")
    expect(reply).to_have_value("")
    last = site.desk.store.list_messages(opened["id"])[-1]
    assert (last.author, last.article_id) == ("agent", "refund") and last.text.count("/articles/en/refund") == 1
