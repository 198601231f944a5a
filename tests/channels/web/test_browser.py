"""The chat widget in a real browser (the system Chromium) against the real app and encoder.

Each test asserts what a person sees. With ANSWERDESK_SCREENSHOTS=1 (`make screenshots`) the
screenshots for the docs are written to docs/; otherwise to a temporary folder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.channels.web.browser_support import (  # noqa: F401  (fixtures)
    AGENT_EMAIL,
    AGENT_NAME,
    AGENT_PASSWORD,
    Contexts,
    Site,
    browser,
    clarify_site,
    contexts,
    site,
    visitor,
    web_index,
)



def open_widget(page: Any, url: str, expect: Any, launcher_name: str = "Chat with us") -> Any:
    page.goto(url)
    page.get_by_role("button", name=launcher_name).click()
    panel = page.locator(".ad-panel")
    expect(panel).to_be_visible()
    expect(panel.locator('.ad-msg[data-action="greeting"]')).to_be_visible()
    return panel


def ask(page: Any, text: str) -> None:
    box = page.locator(".ad-input")
    box.fill(text)
    box.press("Enter")


def last_answer(panel: Any) -> Any:
    return panel.locator('.ad-msg[data-action="answer"]').last


def test_visitor_asks_in_english_and_gets_the_article(site: Site, visitor: Any, expect: Any, shots: Path) -> None:
    page = visitor.new_page()
    page.goto(site.url + "/")
    launcher = page.get_by_role("button", name="Chat with us")
    launcher.focus()
    page.keyboard.press("Enter")  # by keyboard: the launcher is a real button
    panel = page.get_by_role("dialog", name="Customer support")
    expect(panel).to_be_visible()
    expect(page.get_by_label("Your message")).to_be_focused()
    expect(panel.get_by_role("log")).to_contain_text("Hi! I'm the Answerdesk assistant")
    expect(page.get_by_label("Your message")).to_have_attribute("placeholder", "Type your question…")

    page.keyboard.type("I forgot my password")
    page.keyboard.press("Enter")
    answer = last_answer(panel)
    expect(answer).to_contain_text("Open Settings, choose Security and press Reset password.")
    link = answer.get_by_role("link", name="How to reset your password")
    expect(link).to_have_attribute("href", re.compile(r"/articles/en/reset-password$"))
    expect(answer.locator(".ad-article-updated")).to_contain_text("updated")
    expect(answer.get_by_text("Did this answer your question?")).to_be_visible()
    yes, no = answer.get_by_role("button", name="Yes"), answer.get_by_role("button", name="No")
    expect(no).to_be_enabled()
    expect(page.locator(".ad-typing")).to_be_hidden()
    page.screenshot(path=str(shots / "widget.png"), animations="disabled")

    yes.click()
    expect(panel.get_by_text("Thanks for your feedback!")).to_be_visible()
    expect(yes).to_be_disabled()
    expect(no).to_be_disabled()

    ask(page, "I lost my gift card")  # Markdown in the article: bold, without the marks; HTML as text
    gift = panel.locator('.ad-msg[data-action="answer"]', has_text="Gift cards never expire")
    expect(gift.locator("strong", has_text="Lost a card?")).to_be_visible()
    expect(gift.locator("strong", has_text="Contact us")).to_be_visible()
    expect(gift).to_contain_text("<script>alert('kb')</script>")
    expect(gift).not_to_contain_text("**")
    expect(gift).not_to_contain_text("##")

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(launcher).to_be_focused()


def test_arabic_question_turns_the_panel_right_to_left(site: Site, visitor: Any, contexts: Contexts, expect: Any, shots: Path) -> None:
    page = visitor.new_page()
    panel = open_widget(page, site.url + "/", expect)
    expect(panel).to_have_attribute("dir", "ltr")
    ask(page, "كيف يمكنني استرجاع أموالي؟")
    expect(last_answer(panel)).to_contain_text("يمكنك إرجاع أي منتج خلال 30 يومًا")
    expect(panel).to_have_attribute("dir", "rtl")
    expect(panel.get_by_role("button", name="إرسال")).to_be_visible()
    expect(page.locator(".ad-input")).to_have_attribute("placeholder", "اكتب سؤالك…")
    expect(last_answer(panel).get_by_role("button", name="نعم")).to_be_visible()
    # Mirrored: the visitor's own message sits on the left, the bot's on the right.
    mine = panel.locator('.ad-msg[data-author="customer"] .ad-bubble').last.bounding_box()
    bot = last_answer(panel).locator(".ad-bubble").bounding_box()
    assert mine["x"] < bot["x"]

    # A visitor whose browser speaks Arabic: the widget is Arabic from the greeting on.
    page = contexts.open(locale="ar-EG").new_page()
    panel = open_widget(page, site.url + "/", expect, launcher_name="تحدث معنا")
    expect(panel.get_by_role("heading", name="خدمة العملاء")).to_be_visible()
    expect(panel).to_have_attribute("dir", "rtl")
    ask(page, "أريد استرداد أموالي، كيف أرجع منتجًا؟")
    expect(last_answer(panel).get_by_role("link", name="الاسترداد والإرجاع")).to_be_visible()
    expect(page.locator(".ad-typing")).to_be_hidden()
    page.screenshot(path=str(shots / "widget-rtl.png"), animations="disabled")


def test_visitor_picks_one_of_the_offered_articles(clarify_site: Site, visitor: Any, expect: Any) -> None:
    page = visitor.new_page()
    panel = open_widget(page, clarify_site.url + "/", expect)
    ask(page, "my order is late and I want my money back")
    clarify = panel.locator('.ad-msg[data-action="clarify"]')
    expect(clarify).to_contain_text("Did you mean one of these?")
    expect(clarify.get_by_role("button", name="Shipping times and costs")).to_be_visible()
    choice = clarify.get_by_role("button", name="Refunds and returns")
    choice.click()
    answer = last_answer(panel)
    expect(answer).to_contain_text("You can return any item within 30 days")
    expect(answer.get_by_role("link", name="Refunds and returns")).to_have_attribute("href", re.compile(r"/articles/en/refund$"))
    expect(choice).to_be_disabled()


def test_no_to_feedback_hands_over_to_an_agent_who_replies_live(site: Site, visitor: Any, contexts: Contexts, expect: Any, shots: Path) -> None:
    page = visitor.new_page()
    panel = open_widget(page, site.url + "/", expect)
    ask(page, "when will my order arrive")
    expect(last_answer(panel)).to_contain_text("Orders ship in 2 business days")
    last_answer(panel).get_by_role("button", name="No").click()
    expect(panel).to_contain_text("Sorry that didn't help. Let me connect you with a person.")
    expect(panel.locator(".ad-status")).to_have_text("Waiting for a person…")
    expect(panel.get_by_role("button", name="Talk to a person")).to_be_hidden()
    conversation_id = page.evaluate("localStorage.getItem('answerdesk.conversation')")
    page.evaluate("window.stillTheSamePage = true")

    agent = contexts.open(viewport={"width": 1200, "height": 820}).new_page()
    agent.goto(site.url + "/agent/login")
    agent.get_by_label("E-mail address").fill(AGENT_EMAIL)
    agent.get_by_label("Password").fill(AGENT_PASSWORD)
    agent.get_by_role("button", name="Sign in").click()
    waiting = agent.get_by_role("row").filter(has_text="when will my order arrive")
    waiting.get_by_role("button", name=re.compile("^Take")).click()
    expect(agent).to_have_url(re.compile(f"/agent/conversations/{conversation_id}$"))
    expect(panel).to_contain_text(f"{AGENT_NAME} has joined the conversation.")
    expect(panel.locator(".ad-status")).to_contain_text("person")

    agent.get_by_label("Reply to the customer").fill("Hello! I'm looking at your order now. Could you tell me its number?")
    agent.get_by_role("button", name="Send").click()
    reply = panel.locator('.ad-msg[data-author="agent"]')
    expect(reply).to_contain_text("I'm looking at your order now.")
    expect(reply.locator(".ad-author")).to_be_visible()  # shown as the support team, not the bot
    assert page.evaluate("window.stillTheSamePage") is True  # arrived live, no reload

    ask(page, "It's order 10442, placed last Monday.")
    expect(panel.locator('.ad-msg[data-author="customer"]', has_text="order 10442")).to_have_count(1)
    expect(agent.locator("#transcript")).to_contain_text("order 10442")  # live in the console too
    expect(panel.locator(".ad-typing")).to_be_hidden()
    agent.screenshot(path=str(shots / "console.png"), animations="disabled")

    agent.get_by_role("button", name="Close").click()
    rating = panel.locator('.ad-msg[data-action="csat_question"]')
    expect(rating).to_contain_text("How would you rate this conversation from 1 to 5?")
    rating.get_by_role("button", name="5 out of 5").click()
    expect(panel).to_contain_text("Thank you for rating us!")
    expect(rating.get_by_role("button", name="1 out of 5")).to_be_disabled()


def test_a_page_reload_keeps_the_conversation(site: Site, visitor: Any, expect: Any) -> None:
    page = visitor.new_page()
    panel = open_widget(page, site.url + "/", expect)
    ask(page, "how much is delivery")
    expect(last_answer(panel)).to_contain_text("Orders ship in 2 business days")
    before = page.evaluate("localStorage.getItem('answerdesk.conversation')")

    page.reload()
    panel = page.locator(".ad-panel")
    expect(panel).to_be_visible()  # it was open, so it opens again
    expect(panel.get_by_role("log")).to_contain_text("how much is delivery")
    expect(last_answer(panel).get_by_role("link", name="Shipping times and costs")).to_be_visible()
    page.wait_for_timeout(500)  # the event stream has had time to repeat anything it would
    expect(panel.locator('.ad-msg[data-author="customer"]')).to_have_count(1)
    assert page.evaluate("localStorage.getItem('answerdesk.conversation')") == before

    ask(page, "when are you open")
    expect(last_answer(panel)).to_contain_text("Monday to Friday")

    # A conversation the server does not know for this visitor: a new one starts.
    visitor.clear_cookies()
    page.evaluate("localStorage.setItem('answerdesk.conversation', 'no-such-conversation')")
    page.reload()
    expect(page.locator(".ad-panel .ad-msg[data-action='greeting']")).to_be_visible()
    expect(page.locator(".ad-panel .ad-msg[data-author='customer']")).to_have_count(0)


def test_html_in_a_message_shows_as_text_and_runs_nothing(site: Site, visitor: Any, expect: Any) -> None:
    page = visitor.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    panel = open_widget(page, site.url + "/", expect)
    attacks = ["<img src=x onerror=alert(1)>", "<script>alert(2)</script> and <b>bold?</b>"]
    for text in attacks:
        ask(page, text)
        expect(panel.locator('.ad-msg[data-author="customer"]', has_text=text)).to_have_count(1)
    for text in attacks:
        expect(panel.get_by_text(text, exact=True)).to_be_visible()
    page.reload()
    for text in attacks:
        expect(panel.get_by_text(text, exact=True)).to_be_visible()
    page.wait_for_timeout(300)
    assert dialogs == []
    assert panel.locator("img, script, b").count() == 0


def test_a_failed_send_keeps_the_text_and_can_be_retried(site: Site, visitor: Any, expect: Any) -> None:
    page = visitor.new_page()
    panel = open_widget(page, site.url + "/", expect)
    page.route("**/api/conversations/*/messages", lambda route: route.fulfill(status=503, body="{}", content_type="application/json"))
    ask(page, "what are your support hours")
    alert = panel.get_by_role("alert")
    expect(alert).to_contain_text("Your message was not sent.")
    expect(page.get_by_label("Your message")).to_have_value("what are your support hours")
    page.unroute("**/api/conversations/*/messages")
    alert.get_by_role("button", name="Retry").click()
    expect(last_answer(panel)).to_contain_text("Monday to Friday, 9:00 to 18:00")
    expect(alert).to_be_hidden()
    expect(page.get_by_label("Your message")).to_have_value("")
    expect(panel.locator('.ad-msg[data-author="customer"]')).to_have_count(1)


def test_on_a_phone_the_panel_fills_the_screen(site: Site, contexts: Contexts, expect: Any) -> None:
    phone = contexts.open(viewport={"width": 375, "height": 700}, is_mobile=True, has_touch=True, reduced_motion="reduce")
    page = phone.new_page()
    panel = open_widget(page, site.url + "/", expect)
    box = panel.bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 375, 700)
    assert panel.evaluate("node => getComputedStyle(node).animationName") == "none"  # reduced motion
    panel.get_by_role("button", name="Talk to a person").click()
    expect(panel).to_contain_text("Connecting you with a person...")
    expect(panel.locator(".ad-status")).to_have_text("Waiting for a person…")
    panel.get_by_role("button", name="Close chat").click()
    expect(page.get_by_role("button", name="Chat with us")).to_be_visible()


def test_on_a_phone_a_long_answer_is_shown_from_its_start(site: Site, contexts: Contexts, expect: Any) -> None:
    phone = contexts.open(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    panel = open_widget(page, site.url + "/", expect)
    ask(page, "how much is delivery")  # an earlier exchange above it
    expect(last_answer(panel)).to_contain_text("Orders ship in 2 business days")
    ask(page, "The app keeps crashing on my phone, what can I do?")
    answer = panel.locator('.ad-msg[data-action="answer"]', has_text="Try these steps in order")
    expect(answer).to_contain_text("When the app keeps crashing")  # the section, not the whole article
    expect(answer).not_to_contain_text("Installing the app")
    expect(answer.locator(".ad-article")).to_contain_text(re.compile(r"^Full article: Using the mobile app\W* · updated \w+"))
    expect(answer.get_by_role("link", name="Using the mobile app")).to_have_attribute("href", re.compile(r"/articles/en/mobile-app$"))
    expect(page.locator(".ad-typing")).to_be_hidden()
    transcript = panel.locator(".ad-transcript")
    assert answer.bounding_box()["height"] > transcript.bounding_box()["height"]  # scrolled to its end, its start would be hidden
    settled(page, transcript)
    top, box = answer.bounding_box()["y"], transcript.bounding_box()
    assert box["y"] - 1 <= top <= box["y"] + box["height"] - 40 and 0 <= top <= 844 - 40, (top, box)


def settled(page: Any, scroller: Any, timeout: float = 5.0) -> None:
    """Wait until a smoothly scrolling element has stopped (its position the same for 300 ms)."""
    seen: list[float] = []
    for _ in range(int(timeout / 0.1)):
        seen.append(scroller.evaluate("node => node.scrollTop"))
        if len(seen) >= 4 and len(set(seen[-4:])) == 1:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"still scrolling after {timeout} s: {seen[-5:]}")


def test_a_missed_conversation_is_answered_from_the_console_and_the_visitor_sees_it_on_return(
    site: Site, visitor: Any, contexts: Contexts, expect: Any, shots: Path
) -> None:
    for agent_record in site.desk.available_agents():
        site.desk.signed_out(agent_record.id)  # nobody is there
    page = visitor.new_page()
    panel = open_widget(page, site.url + "/", expect)
    ask(page, "I want to talk to a human about my parcel")
    expect(panel).to_contain_text("Sorry, no one from our team is available right now.")  # at once, no wait
    expect(panel.locator(".ad-status")).to_have_text("Our team will answer here")
    expect(panel.get_by_role("button", name="Talk to a person")).to_be_visible()
    page.close()  # the visitor leaves

    agent = contexts.open(viewport={"width": 1200, "height": 900}).new_page()
    agent.goto(site.url + "/agent/login")
    agent.get_by_label("E-mail address").fill(AGENT_EMAIL)
    agent.get_by_label("Password").fill(AGENT_PASSWORD)
    agent.get_by_role("button", name="Sign in").click()
    expect(agent.locator("#available-list")).to_contain_text(f"{AGENT_NAME} (console)")
    missed = agent.locator("#missed-rows").get_by_role("row").filter(has_text="my parcel")
    expect(missed).to_be_visible()
    agent.screenshot(path=str(shots / "console-missed.png"), animations="disabled")
    missed.get_by_role("button", name=re.compile("^Take")).click()
    agent.get_by_label("Reply to the customer").fill("Sorry we missed you! Your parcel is on its way.")
    agent.get_by_role("button", name="Send").click()
    expect(agent.locator("#transcript")).to_contain_text("Your parcel is on its way.")

    back = visitor.new_page()  # the visitor comes back to the help center
    back.goto(site.url + "/")
    panel = back.locator(".ad-panel")
    if panel.is_hidden():
        back.get_by_role("button", name=re.compile("^Chat with us")).click()
    reply = panel.locator('.ad-msg[data-author="agent"]')
    expect(reply).to_contain_text("Your parcel is on its way.")
    expect(reply.locator(".ad-author")).to_contain_text(AGENT_NAME)  # the agent's name, not "Support team"


def test_the_widget_holds_a_live_stream_only_while_it_is_open_or_a_person_has_the_chat(site: Site, visitor: Any, expect: Any) -> None:
    """Issue 14: every open stream costs the server a connection, so a closed widget holds none."""
    page = visitor.new_page()
    panel = open_widget(page, site.url + "/", expect)
    ask(page, "how much is delivery")
    expect(last_answer(panel)).to_contain_text("Orders ship in 2 business days")
    page.get_by_role("button", name="Close chat").click()
    streams: list[str] = []
    page.on("request", lambda request: streams.append(request.url) if "/events" in request.url else None)
    page.reload()  # another page of the help center, the chat closed
    expect(page.get_by_role("button", name=re.compile("^Chat with us"))).to_be_visible()
    page.wait_for_timeout(800)
    assert streams == []
    page.get_by_role("button", name=re.compile("^Chat with us")).click()
    expect(panel.get_by_role("log")).to_contain_text("how much is delivery")
    page.wait_for_timeout(300)
    assert len(streams) == 1  # open: one stream, from the last message seen
