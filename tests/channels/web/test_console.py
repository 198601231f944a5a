"""The agent console through the real app: sign-in, CSRF, the queue, taking, tickets, reindex."""

from __future__ import annotations

import time

from typing import Any

from tests.channels.web.conftest import PASSWORD, Web, console_post, csrf, read_events, say, sign_in, start


def _waiting(web: Web, text: str = "I want to talk to a human", lang: str | None = None) -> str:
    client = web.client()
    cid = start(client, lang)["id"]
    assert say(client, cid, text)["state"] == "waiting"
    return cid


def test_not_signed_in_goes_to_the_login_page(web: Web) -> None:
    client = web.client()
    for path in ["/agent/", "/agent/tickets", "/agent/conversations/abc"]:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/agent/login?next=/agent/")
    assert client.get("/agent/queue/events").status_code == 401
    page = client.get("/agent/login")
    assert page.status_code == 200 and 'name="csrf_token"' in page.get_data(as_text=True)
    assert 'for="email"' in page.get_data(as_text=True) and 'for="password"' in page.get_data(as_text=True)


def test_sign_in_checks_the_password_and_follows_next(web: Web) -> None:
    client = web.client()
    page = client.get("/agent/login?next=/agent/tickets").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    wrong = client.post("/agent/login", data={"email": "ayse@example.com", "password": "nope-nope", "csrf_token": token})
    assert wrong.status_code == 401 and "Wrong e-mail address or password" in wrong.get_data(as_text=True)
    unknown = client.post("/agent/login", data={"email": "who@example.com", "password": PASSWORD, "csrf_token": token})
    assert unknown.status_code == 401
    right = client.post("/agent/login", data={"email": "AYSE@example.com", "password": PASSWORD, "csrf_token": token, "next": "/agent/tickets"})
    assert right.status_code == 302 and right.headers["Location"] == "/agent/tickets"
    assert "Ayşe" in client.get("/agent/").get_data(as_text=True)
    evil = web.client()
    sign_in(evil)
    page = evil.get("/agent/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    away = evil.post("/agent/login", data={"email": "ayse@example.com", "password": PASSWORD, "csrf_token": token, "next": "//evil.example"})
    assert away.headers["Location"] == "/agent/"
    assert console_post(evil, "/agent/logout").status_code == 302
    assert evil.get("/agent/").status_code == 302


def test_csrf_token_missing_or_wrong_is_400(web: Web) -> None:
    cid = _waiting(web)
    client = web.client()
    sign_in(client)
    assert client.post(f"/agent/conversations/{cid}/take").status_code == 400
    assert client.post(f"/agent/conversations/{cid}/take", data={"csrf_token": "forged"}).status_code == 400
    assert client.post("/agent/login", data={"email": "ayse@example.com", "password": PASSWORD}).status_code == 400
    assert web.desk.store.get_conversation(cid).state == "waiting"
    ok = client.post(f"/agent/conversations/{cid}/take", headers={"X-CSRF-Token": csrf(client)})
    assert ok.status_code == 302 and web.desk.store.get_conversation(cid).state == "agent"


def test_queue_shows_my_languages_first_with_the_bots_evidence(web: Web) -> None:
    arabic = _waiting(web, "أريد التحدث مع موظف", "ar")
    web.clock.advance(seconds=30)
    english = _waiting(web, "I can't remember my password and I want to talk to a human")
    web.clock.advance(seconds=95)
    omar = web.client()
    sign_in(omar, "omar@example.com")
    page = omar.get("/agent/").get_data(as_text=True)
    assert page.index(arabic) < page.index(english)  # Omar speaks Arabic: his language first
    assert "2 min 5 s" in page and "1 min 35 s" in page
    assert "asked_for_person" in page and "reset-password" in page and "How to reset your password" in page
    ayse = web.client()
    sign_in(ayse)
    page = ayse.get("/agent/").get_data(as_text=True)
    assert page.index(english) < page.index(arabic)  # Ayşe speaks Turkish and English


def test_two_agents_take_the_same_conversation_one_wins(web: Web) -> None:
    cid = _waiting(web)
    ayse, omar = web.client(), web.client()
    sign_in(ayse)
    sign_in(omar, "omar@example.com")
    first = console_post(ayse, f"/agent/conversations/{cid}/take")
    assert first.headers["Location"].endswith(f"/agent/conversations/{cid}")
    second = console_post(omar, f"/agent/conversations/{cid}/take")
    assert second.headers["Location"] == "/agent/"
    assert "Ayşe already took this conversation" in omar.get("/agent/").get_data(as_text=True)
    assert web.desk.store.get_conversation(cid).agent == web.agents["ayse"].id
    # Omar sees it is Ayşe's and has no reply box; his reply is refused.
    page = omar.get(f"/agent/conversations/{cid}").get_data(as_text=True)
    assert "Ayşe has this conversation" in page and 'id="reply"' not in page
    refused = omar.post(f"/agent/conversations/{cid}/reply", data={"text": "hi", "csrf_token": csrf(omar)}, headers={"Accept": "application/json"})
    assert refused.status_code == 409 and "take it first" in refused.get_json()["error"]
    assert console_post(omar, f"/agent/conversations/{cid}/hand-back").status_code == 302
    assert web.desk.store.get_conversation(cid).state == "agent"
    assert "Ayşe has this conversation: only they can hand it back" in omar.get(f"/agent/conversations/{cid}").get_data(as_text=True)


def test_an_agent_sends_a_waiting_conversation_back_to_the_bot(web: Web) -> None:
    cid = _waiting(web)
    omar = web.client()
    sign_in(omar, "omar@example.com")
    page = omar.get(f"/agent/conversations/{cid}").get_data(as_text=True)
    assert f"/agent/conversations/{cid}/hand-back" in page  # offered beside Take while it waits
    assert console_post(omar, f"/agent/conversations/{cid}/hand-back").headers["Location"] == "/agent/"
    assert web.desk.store.get_conversation(cid).state == "bot"
    assert [m.action for m in web.desk.store.list_messages(cid)][-1] == "back_to_bot"


def test_conversation_page_shows_the_transcript_escaped_with_scores(web: Web) -> None:
    visitor = web.client()
    cid = start(visitor)["id"]
    say(visitor, cid, "how much is delivery")
    say(visitor, cid, '<script>alert("x")</script> I want to talk to a human')
    agent = web.client()
    sign_in(agent)
    console_post(agent, f"/agent/conversations/{cid}/take")
    page = agent.get(f"/agent/conversations/{cid}").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in page and "&lt;script&gt;" in page
    assert "msg-customer" in page and "msg-bot" in page and "Shipping times and costs" in page
    assert "confident" in page and "shipping" in page
    assert 'id="reply"' in page and 'for="reply-text"' in page and "Back to bot" in page and "Close" in page
    json_reply = agent.post(f"/agent/conversations/{cid}/reply", data={"text": "On its way!", "csrf_token": csrf(agent)}, headers={"Accept": "application/json"})
    assert json_reply.status_code == 200 and json_reply.get_json()["id"]
    empty = agent.post(f"/agent/conversations/{cid}/reply", data={"text": " ", "csrf_token": csrf(agent)}, headers={"Accept": "application/json"})
    assert empty.status_code == 400


def test_agent_streams_follow_the_conversation_and_the_queue(web: Web) -> None:
    cid = _waiting(web)
    agent = web.client()
    sign_in(agent)
    queue = read_events(agent.get("/agent/queue/events").get_data(as_text=True))
    assert queue[0]["event"] == "queue" and [c["id"] for c in queue[0]["data"]["waiting"]] == [cid]
    assert queue[0]["data"]["waiting"][0]["decision"]["reason"] == "asked_for_person"
    console_post(agent, f"/agent/conversations/{cid}/take")
    web.desk.agent_reply(cid, web.agents["ayse"].id, "Hello!")
    events = read_events(agent.get(f"/agent/conversations/{cid}/events?after=0").get_data(as_text=True))
    messages = [e["data"] for e in events if e["event"] == "message"]
    assert messages[-1]["author"] == "agent" and messages[-1]["agent_name"] == "Ayşe"
    assert messages[1]["decision"]["action"] == "handoff"
    assert {"event": "state", "id": None, "data": {"state": "agent"}} in events
    mine = read_events(agent.get("/agent/queue/events").get_data(as_text=True))[0]["data"]
    assert mine["waiting"] == [] and [c["id"] for c in mine["mine"]] == [cid]


def test_tickets_are_listed_and_answered(make_web: Any) -> None:
    web = make_web(hours="mon-fri 09:00-18:00")
    web.clock.advance(days=3, hours=2)  # Saturday
    visitor = web.client()
    cid = start(visitor)["id"]
    say(visitor, cid, "I want to talk to a human")
    say(visitor, cid, "customer@example.com")
    agent = web.client()
    sign_in(agent)
    page = agent.get("/agent/tickets").get_data(as_text=True)
    assert "customer@example.com" in page and ">open<" in page and "I want to talk to a human" in page
    ticket = web.desk.store.list_tickets()[0]
    answered = console_post(agent, f"/agent/tickets/{ticket.id}/answer", answer="We are back on Monday; here is how...")
    assert answered.status_code == 302
    page = agent.get("/agent/tickets").get_data(as_text=True)
    assert ">answered<" in page and "We are back on Monday; here is how..." in page
    assert web.desk.store.get_ticket(ticket.id).status == "answered"
    assert console_post(agent, "/agent/tickets/999/answer", answer="x").status_code == 404


def test_reindex_runs_in_the_background_while_the_bot_answers(web: Web) -> None:
    agent = web.client()
    sign_in(agent)
    assert console_post(agent, "/agent/reindex").status_code == 302
    job = web.app.extensions["answerdesk"].reindex
    visitor = web.client()
    cid = start(visitor)["id"]
    assert say(visitor, cid, "how much is delivery")["replies"][0]["article_id"] == "shipping"
    answered, deadline = 1, time.monotonic() + 120
    while job.status.state == "running" and time.monotonic() < deadline:  # no request fails while the index moves
        if answered % 10 == 0:  # a new visitor now and then: the point is the index, not the rate limits
            visitor = web.client()
            cid = start(visitor)["id"]
        assert say(visitor, cid, "how much is delivery")["replies"][0]["article_id"] == "shipping"
        answered += 1
        time.sleep(0.25)  # a visitor's pace; the build (a child at the lowest priority) gets the rest
    status = job.wait(120)
    assert status.state == "done", status.message
    assert agent.get("/agent/reindex").get_json()["state"] == "done"
    assert "Last reindex finished" in agent.get("/agent/").get_data(as_text=True)
    assert web.client().get("/healthz").get_json()["articles"] == 7
    assert say(visitor, cid, "I can't remember my password, what do I do?")["replies"][0]["article_id"] == "reset-password"
