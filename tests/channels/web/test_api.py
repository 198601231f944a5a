"""The widget's JSON API through the real app: every path of the waterfall, bad input, events."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest
import yaml

from bot.answer.engine import Engine
from channels.serve import expire_waiting_forever
from index.search import LiveIndex
from tests.conftest import MOBILE_APP
from tests.channels.web.conftest import (
    Web,
    actions,
    console_post,
    post_json,
    read_events,
    say,
    sign_in,
    start,
)


def test_healthz_reports_the_live_index(web: Web) -> None:
    response = web.client().get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["articles"] == 7 and body["index_built_at"]


def test_healthz_without_an_index_is_503(make_web: Any, web_engine: Engine, tmp_path: Any) -> None:
    engine = Engine(web_engine.settings.with_overrides(index_dir=str(tmp_path / "none")), web_engine.encoders, LiveIndex(tmp_path / "none"))
    broken = make_web(engine=engine)
    response = broken.client().get("/healthz")
    assert response.status_code == 503 and "answerdesk reindex" in response.get_json()["error"]


def test_open_sets_a_private_visitor_cookie_and_greets_in_the_hinted_language(web: Web) -> None:
    client = web.client()
    response = client.post("/api/conversations", json={"lang": "tr-TR"})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "lang", "state", "greeting"}
    assert body["lang"] == "tr" and body["state"] == "bot" and "Answerdesk" in body["greeting"]
    cookie = response.headers["Set-Cookie"]
    assert "answerdesk_visitor=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    again = start(client)
    assert again["id"] == body["id"]  # the same open conversation, no second cookie
    conversation = web.desk.store.get_conversation(body["id"])
    assert conversation is not None and conversation.channel == "web"


def test_accept_language_is_the_hint_without_a_body(web: Web) -> None:
    body = start(web.client(), **{"Accept-Language": "ar,en;q=0.8"})
    assert body["lang"] == "ar"
    assert any("\u0600" <= ch <= "\u06ff" for ch in body["greeting"])


def test_answer_then_helpful_yes(web: Web) -> None:
    client = web.client()
    conversation = start(client)
    turn = say(client, conversation["id"], "I can't remember my password, what do I do?")
    assert turn["state"] == "bot" and actions(turn) == ["answer"]
    reply = turn["replies"][0]
    assert reply["article_id"] == "reset-password" and reply["article_title"] == "How to reset your password"
    assert reply["article_url"] == "/articles/en/reset-password" and reply["article_updated"]
    assert set(reply) >= {"id", "author", "text", "action", "article_id", "article_title", "article_url", "article_updated", "choices"}
    assert turn["message"]["author"] == "customer" and turn["message"]["id"] < reply["id"]
    thanks = post_json(client, f"/api/conversations/{conversation['id']}/feedback", {"message_id": reply["id"], "helpful": True})
    assert actions(thanks) == ["feedback_thanks"] and thanks["state"] == "bot"


def test_a_long_article_is_answered_with_the_section_that_answers_and_a_link(web: Web) -> None:
    client = web.client()
    conversation = start(client)
    turn = say(client, conversation["id"], "How do I turn on notifications for my orders?")
    assert actions(turn) == ["answer"]
    reply = turn["replies"][0]
    assert reply["article_id"] == "mobile-app" and len(MOBILE_APP[3]) > 1500
    assert reply["text"].startswith("## Turning on notifications\n\nOpen the app, tap your picture")
    assert reply["text"].endswith("\n\nThere is more in the full article.") and len(reply["text"]) < 700
    assert "Installing the app" not in reply["text"] and "keeps crashing" not in reply["text"]
    assert (reply["article_title"], reply["article_url"]) == ("Using the mobile app", "/articles/en/mobile-app")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", reply["article_updated"])
    page = client.get(reply["article_url"]).get_data(as_text=True)  # the link opens the whole article
    for heading in ("Installing the app", "Turning on notifications", "Working offline", "When the app keeps crashing"):
        assert heading in page
    assert "Write to us with both." in page


def test_the_whole_waterfall_through_the_console(web: Web) -> None:
    visitor, agent = web.client(), web.client()
    conversation = start(visitor)
    cid = conversation["id"]
    answer = say(visitor, cid, "I can't remember my password, what do I do?")["replies"][0]
    # "No" hands the conversation to a person.
    turn = post_json(visitor, f"/api/conversations/{cid}/feedback", {"message_id": answer["id"], "helpful": False})
    assert turn["state"] == "waiting" and actions(turn) == ["handoff_after_negative_feedback"]
    sign_in(agent)
    assert cid in agent.get("/agent/").get_data(as_text=True)
    taken = console_post(agent, f"/agent/conversations/{cid}/take")
    assert taken.status_code == 302 and taken.headers["Location"].endswith(f"/agent/conversations/{cid}")
    # While the agent has it the bot stays silent.
    quiet = say(visitor, cid, "Are you there?")
    assert quiet["state"] == "agent" and quiet["replies"] == []
    last_seen = quiet["message"]["id"]
    replied = console_post(agent, f"/agent/conversations/{cid}/reply", text="Hi, I'm Ayşe. I've sent you a new reset link.")
    assert replied.status_code == 302
    transcript = visitor.get(f"/api/conversations/{cid}").get_json()
    assert transcript["state"] == "agent" and transcript["channel"] == "web"
    assert [m["author"] for m in transcript["messages"]][-1] == "agent"
    assert any(m["action"] == "agent_joined" and "Ayşe" in m["text"] for m in transcript["messages"])
    events = read_events(visitor.get(f"/api/conversations/{cid}/events", headers={"Last-Event-ID": str(last_seen)}).get_data(as_text=True))
    messages = [e for e in events if e["event"] == "message"]
    assert [m["data"]["author"] for m in messages] == ["agent"] and messages[0]["id"] == str(messages[0]["data"]["id"])
    assert {"event": "state", "id": None, "data": {"state": "agent"}} in events
    # Back to the bot, which answers again.
    assert console_post(agent, f"/agent/conversations/{cid}/hand-back").status_code == 302
    again = say(visitor, cid, "how much is delivery")
    assert again["state"] == "bot" and actions(again) == ["answer"] and again["replies"][0]["article_id"] == "shipping"
    # The agent closes it; the customer rates it.
    assert console_post(agent, f"/agent/conversations/{cid}/close").status_code == 302
    closed = visitor.get(f"/api/conversations/{cid}").get_json()
    assert closed["state"] == "closed" and [m["action"] for m in closed["messages"]][-2:] == ["conversation_closed", "csat_question"]
    rated = post_json(visitor, f"/api/conversations/{cid}/feedback", {"csat": 5})
    assert actions(rated) == ["csat_thanks"]
    assert [f.csat for f in web.desk.store.list_feedback(conversation_id=cid)] == [None, 5]


def test_asking_for_a_person_in_arabic(web: Web) -> None:
    client = web.client()
    cid = start(client, "ar")["id"]
    turn = say(client, cid, "أريد التحدث مع موظف")
    assert turn["state"] == "waiting" and actions(turn) == ["handoff"]
    assert any("\u0600" <= ch <= "\u06ff" for ch in turn["replies"][0]["text"])
    assert web.desk.store.get_conversation(cid).lang == "ar"


def test_the_person_button(web: Web) -> None:
    client = web.client()
    cid = start(client)["id"]
    turn = post_json(client, f"/api/conversations/{cid}/human", {})
    assert turn["state"] == "waiting" and actions(turn) == ["handoff_requested"] and turn["message"] is None
    assert client.post(f"/api/conversations/{cid}/human").status_code == 200  # no body at all is fine too


def test_clarify_then_choose(make_web: Any, web_engine: Engine) -> None:
    unsure = Engine(web_engine.settings.with_overrides(answer_threshold=5.0, handoff_threshold=0.0, clarify_margin=1.0), web_engine.encoders, web_engine.index)
    web = make_web(engine=unsure)
    client = web.client()
    cid = start(client)["id"]
    turn = say(client, cid, "I forgot my password")
    assert actions(turn) == ["clarify"]
    choices = turn["replies"][0]["choices"]
    assert len(choices) >= 2 and choices[0] == {"article_id": "reset-password", "title": "How to reset your password"}
    chosen = post_json(client, f"/api/conversations/{cid}/choices", {"article_id": "reset-password"})
    assert chosen["message"]["text"] == "How to reset your password"
    assert actions(chosen) == ["answer"] and chosen["replies"][0]["article_url"] == "/articles/en/reset-password"
    missing = client.post(f"/api/conversations/{cid}/choices", json={"article_id": "no-such-article"})
    assert missing.status_code == 404 and "no-such-article" in missing.get_json()["error"]


def test_outside_hours_takes_an_email_and_opens_a_ticket(make_web: Any) -> None:
    web = make_web(hours="mon-fri 09:00-18:00")
    web.clock.advance(days=3, hours=2)  # Saturday noon
    client = web.client()
    cid = start(client)["id"]
    turn = say(client, cid, "I want to talk to a human")
    assert turn["state"] == "missed" and actions(turn) == ["handoff", "outside_hours", "ask_email"]
    assert "Monday" in turn["replies"][1]["text"]
    assert actions(say(client, cid, "me@nowhere")) == ["email_invalid"]
    done = say(client, cid, "me@example.com")
    assert actions(done) == ["ticket_created"] and done["state"] == "missed"  # still in the agents' queue
    ticket = web.desk.store.list_tickets()[0]
    assert ticket.email == "me@example.com" and ticket.conversation_id == cid


def test_nobody_takes_it_in_time_so_the_ticket_path_starts(web: Web) -> None:
    client = web.client()
    cid = start(client)["id"]
    assert say(client, cid, "I want to talk to a human")["state"] == "waiting"
    web.clock.advance(seconds=179)
    assert web.desk.expire_waiting() == []
    web.clock.advance(seconds=2)
    stop = threading.Event()
    timer = threading.Thread(target=expire_waiting_forever, args=(web.desk, stop, 0.01))
    timer.start()  # the server's background timer does the expiring
    deadline = time.monotonic() + 5
    while web.desk.store.get_conversation(cid).state != "missed" and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    timer.join()
    transcript = client.get(f"/api/conversations/{cid}").get_json()
    said = [m["action"] for m in transcript["messages"]]
    assert transcript["state"] == "missed" and said[-1] == "no_agent_available" and "ask_email" not in said  # one message, not two
    assert actions(say(client, cid, "me@example.com")) == ["ticket_created"]


def test_another_visitors_conversation_is_not_found(web: Web) -> None:
    owner, stranger = web.client(), web.client()
    cid = start(owner)["id"]
    start(stranger)
    for method, path, body in [
        ("get", f"/api/conversations/{cid}", None),
        ("post", f"/api/conversations/{cid}/messages", {"text": "hi"}),
        ("post", f"/api/conversations/{cid}/human", {}),
        ("get", f"/api/conversations/{cid}/events", None),
    ]:
        response = getattr(stranger, method)(path, json=body)
        assert response.status_code == 404, path
        assert "error" in response.get_json()
    assert web.client().get(f"/api/conversations/{cid}").status_code == 404  # no cookie at all


def test_bad_input_gets_clear_4xx_and_the_server_keeps_serving(web: Web) -> None:
    client = web.client()
    cid = start(client)["id"]
    url = f"/api/conversations/{cid}/messages"
    cases = [
        (client.post(url, json={"text": "   "}), 400, "non-empty"),
        (client.post(url, json={"text": "x" * 4001}), 400, "4000"),
        (client.post(url, json={}), 400, "'text'"),
        (client.post(url, json={"text": "hi", "client_id": "a b"}), 400, "'client_id'"),
        (client.post(url, json={"text": "hi", "client_id": 7}), 400, "'client_id'"),
        (client.post(url, data="{not json", content_type="application/json"), 400, "not valid JSON"),
        (client.post(url, json=["text"]), 400, "JSON object"),
        (client.post(url, data="text=hi", content_type="application/x-www-form-urlencoded"), 415, "application/json"),
        (client.post(url), 415, "application/json"),
        (client.post("/api/conversations/nope/messages", json={"text": "hi"}), 404, "nope"),
        (client.post(f"/api/conversations/{cid}/feedback", json={"csat": 6}), 400, "1 to 5"),
        (client.post(f"/api/conversations/{cid}/feedback", json={"message_id": "1", "helpful": True}), 400, "message_id"),
        (client.post(f"/api/conversations/{cid}/feedback", json={"message_id": 999999, "helpful": True}), 404, "999999"),
        (client.post(f"/api/conversations/{cid}/feedback", json={}), 400, "csat"),
        (client.post("/api/conversations", json={"lang": 3}), 400, "lang"),
        (client.get(f"/api/conversations/{cid}/events?after=abc"), 400, "whole number"),
        (client.get("/api/no-such-endpoint"), 404, "openapi"),
        (client.delete(f"/api/conversations/{cid}"), 405, "DELETE"),
        (client.post(url, data=b"{" + b" " * 70000 + b"}", content_type="application/json"), 413, "KiB"),
    ]
    for response, status, words in cases:
        assert response.status_code == status, (response.request.path, response.get_data(as_text=True))
        assert words in response.get_json()["error"], response.get_json()
    assert client.get("/healthz").status_code == 200
    assert say(client, cid, "how much is delivery")["replies"][0]["article_id"] == "shipping"


def test_a_retried_message_is_stored_and_answered_once(web: Web) -> None:
    client = web.client()
    cid = start(client)["id"]
    url = f"/api/conversations/{cid}/messages"
    first = client.post(url, json={"text": "how much is delivery", "client_id": "m-1"}).get_json()
    again = client.post(url, json={"text": "how much is delivery", "client_id": "m-1"}).get_json()
    assert again["message"]["id"] == first["message"]["id"] and again["replies"] == first["replies"]
    other = client.post(url, json={"text": "how much is delivery", "client_id": "m-2"}).get_json()
    assert other["message"]["id"] != first["message"]["id"]
    customer = [m for m in web.desk.store.list_messages(cid) if m.author == "customer"]
    assert len(customer) == 2


def test_a_message_stored_before_the_worker_died_is_answered_on_retry(web: Web) -> None:
    client = web.client()
    cid = start(client)["id"]
    # What a worker killed between storing and answering leaves behind.
    web.desk.store.add_message(cid, "customer", "how much is delivery", external_id=f"{cid}:m-9")
    turn = client.post(f"/api/conversations/{cid}/messages", json={"text": "how much is delivery", "client_id": "m-9"}).get_json()
    assert [r["article_id"] for r in turn["replies"]] == ["shipping"]
    assert [m.author for m in web.desk.store.list_messages(cid)].count("customer") == 1


def test_html_is_kept_as_text(web: Web) -> None:
    client = web.client()
    cid = start(client)["id"]
    text = '<script>alert("x")</script><b>hi</b> & bye'
    turn = say(client, cid, text)
    assert turn["message"]["text"] == text
    assert client.get(f"/api/conversations/{cid}").get_json()["messages"][0]["text"] == text
    assert turn["replies"] and client.get(f"/api/conversations/{cid}").headers["Content-Type"] == "application/json"


def test_events_resume_after_last_event_id_and_announce_state(web: Web) -> None:
    client = web.client()
    cid = start(client)["id"]
    first = say(client, cid, "how much is delivery")
    say(client, cid, "I can't remember my password, what do I do?")
    everything = read_events(client.get(f"/api/conversations/{cid}/events").get_data(as_text=True))
    ids = [int(e["id"]) for e in everything if e["event"] == "message"]
    assert ids == sorted(ids) and len(ids) == 4
    resumed = client.get(f"/api/conversations/{cid}/events", headers={"Last-Event-ID": str(first["replies"][0]["id"])})
    assert resumed.headers["Content-Type"].startswith("text/event-stream") and resumed.headers["Cache-Control"] == "no-cache"
    later = [e for e in read_events(resumed.get_data(as_text=True)) if e["event"] == "message"]
    assert [int(e["id"]) for e in later] == ids[2:]
    assert later[1]["data"]["article_id"] == "reset-password" and later[1]["data"]["article_url"] == "/articles/en/reset-password"
    by_query = read_events(client.get(f"/api/conversations/{cid}/events?after={ids[2]}").get_data(as_text=True))
    assert [int(e["id"]) for e in by_query if e["event"] == "message"] == ids[3:]
    assert [e for e in by_query if e["event"] == "state"] == [{"event": "state", "id": None, "data": {"state": "bot"}}]


def test_events_push_a_message_written_while_the_stream_is_open(web: Web) -> None:
    client = web.client()
    cid = start(client)["id"]
    say(client, cid, "I want to talk to a human")
    assert web.desk.take(cid, web.agents["ayse"].id, "Ayşe")
    after = web.desk.store.list_messages(cid)[-1].id
    web.app.config["SSE_MAX_SECONDS"] = 1.0
    timer = threading.Timer(0.3, lambda: web.desk.agent_reply(cid, web.agents["ayse"].id, "Hello from Ayşe"))
    timer.start()
    text = client.get(f"/api/conversations/{cid}/events?after={after}").get_data(as_text=True)
    timer.join()
    assert [e["data"]["text"] for e in read_events(text) if e["event"] == "message"] == ["Hello from Ayşe"]
    assert ": heartbeat" in text


def test_openapi_documents_every_api_route(web: Web) -> None:
    response = web.client().get("/api/openapi.yaml")
    assert response.status_code == 200
    spec = yaml.safe_load(response.get_data(as_text=True))
    assert spec["openapi"].startswith("3.1")
    documented = {(path, method) for path, item in spec["paths"].items() for method in item if method in ("get", "post", "put", "patch", "delete")}
    routes = set()
    for rule in web.app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = rule.rule.replace("<", "{").replace(">", "}")
            routes |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes and routes <= documented, routes - documented
    assert documented <= routes, documented - routes


def test_a_store_that_cannot_be_reached_gives_503_with_retry_after(web: Web) -> None:
    client = web.client()
    cid = start(client)["id"]
    web.desk.store.close()  # as good as a database that went away
    response = client.post(f"/api/conversations/{cid}/messages", json={"text": "hi", "client_id": "m-1"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert "try again" in response.get_json()["error"]


@pytest.mark.parametrize("style,shown", [("full", "Ayşe Yılmaz"), ("first", "Ayşe"), ("team", "Our support team")])
def test_customers_see_the_agent_name_the_setting_chooses(make_web: Any, web_engine: Engine, style: str, shown: str) -> None:
    from dataclasses import replace

    from bot.desk.agents import create_agent
    from tests.channels.web.conftest import PASSWORD

    web = make_web(engine=Engine(replace(web_engine.settings, agent_names=style), web_engine.encoders, web_engine.index))
    agent = create_agent(web.desk.store, "ayse.yilmaz@example.com", "Ayşe Yılmaz", PASSWORD, ["en"])
    client = web.client()
    cid = start(client, "en")["id"]
    assert say(client, cid, "I want to talk to a human")["state"] == "waiting"
    assert web.desk.take(cid, agent.id, agent.name)
    web.desk.agent_reply(cid, agent.id, "Hello, how can I help?")
    messages = client.get(f"/api/conversations/{cid}").get_json()["messages"]
    joined, reply = next(m for m in messages if m["action"] == "agent_joined"), messages[-1]
    assert reply["author"] == "agent" and reply["agent_name"] == shown and joined["text"] == f"{shown} has joined the conversation."
    assert all(m["agent_name"] is None for m in messages if m["author"] != "agent")
