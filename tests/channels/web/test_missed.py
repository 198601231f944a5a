"""No customer lost: presence decides whether a handoff waits, and a missed conversation is
answered later from the console (issue 13), through the real Flask app."""

from __future__ import annotations

from typing import Any

from tests.channels.web.conftest import PASSWORD, Web, actions, console_post, csrf, say, sign_in, start


def queue_page(agent: Any) -> str:
    return agent.get("/agent/").get_data(as_text=True)


def test_with_nobody_available_the_customer_is_told_at_once_and_the_conversation_is_missed(make_web: Any) -> None:
    web = make_web(present=False)
    visitor = web.client()
    cid = start(visitor)["id"]
    turn = say(visitor, cid, "I want to talk to a human")
    assert turn["state"] == "missed" and actions(turn) == ["handoff", "no_agent_available"]  # no 180 s wait
    assert web.desk.expire_waiting() == []  # nothing was waiting
    # The bot keeps answering meanwhile; the conversation stays in the queue as missed.
    answered = say(visitor, cid, "how much is delivery")
    assert answered["state"] == "missed" and actions(answered) == ["answer"]
    agent = web.client()
    sign_in(agent)
    page = queue_page(agent)
    assert 'id="missed-count">1<' in page and 'id="waiting-count">0<' in page
    assert "E-mail is off" in page


def test_an_agent_in_the_console_is_available_and_the_wait_works_as_before(make_web: Any) -> None:
    web = make_web(present=False)
    agent = web.client()
    sign_in(agent)
    assert "Ayşe (console)" in queue_page(agent)  # the console page made her available
    visitor = web.client()
    cid = start(visitor)["id"]
    assert say(visitor, cid, "I want to talk to a human")["state"] == "waiting"
    # Presence fades without activity: six minutes later a new handoff is missed.
    web.clock.advance(minutes=6)
    other = web.client()
    cid2 = start(other)["id"]
    assert say(other, cid2, "I want to talk to a human")["state"] == "missed"
    # Signing out ends it at once.
    queue_page(agent)
    console_post(agent, "/agent/logout")
    third = web.client()
    cid3 = start(third)["id"]
    assert say(third, cid3, "I want to talk to a human")["state"] == "missed"


def test_a_missed_conversation_is_answered_later_and_the_web_customer_sees_it_on_return(make_web: Any) -> None:
    web = make_web(present=False)
    visitor = web.client()
    cid = start(visitor)["id"]
    say(visitor, cid, "I want to talk to a human")
    say(visitor, cid, "my order 1234 never arrived")
    web.clock.advance(hours=2)
    agent = web.client()
    sign_in(agent)
    assert console_post(agent, f"/agent/conversations/{cid}/take").status_code == 302
    console_post(agent, f"/agent/conversations/{cid}/reply", text="Sorry for the wait! Your parcel left today.")
    # The visitor comes back: the widget opens the same conversation and reads it.
    assert start(visitor)["id"] == cid
    transcript = visitor.get(f"/api/conversations/{cid}").get_json()
    last = transcript["messages"][-1]
    assert last["author"] == "agent" and "parcel left today" in last["text"] and last["agent_name"] == "Ayşe"
    # Until an agent closes it, it is theirs; closing asks for a rating.
    assert console_post(agent, f"/agent/conversations/{cid}/close").status_code == 302
    assert web.desk.store.get_conversation(cid).state == "closed"


def test_a_ticket_answer_joins_the_conversation(make_web: Any) -> None:
    web = make_web(present=False)
    visitor = web.client()
    cid = start(visitor)["id"]
    say(visitor, cid, "I want to talk to a human")
    assert actions(say(visitor, cid, "me@example.com")) == ["ticket_created"]
    conversation = web.desk.store.get_conversation(cid)
    assert conversation.state == "missed" and conversation.meta.get("missed")  # e-mailed replies, when e-mail is on
    agent = web.client()
    sign_in(agent)
    ticket = web.desk.store.list_tickets()[0]
    answered = agent.post(f"/agent/tickets/{ticket.id}/answer", data={"csrf_token": csrf(agent), "answer": "Here is your answer."}, follow_redirects=True)
    assert "E-mail is off" in answered.get_data(as_text=True)
    transcript = visitor.get(f"/api/conversations/{cid}").get_json()
    assert transcript["messages"][-1]["author"] == "agent" and transcript["messages"][-1]["text"] == "Here is your answer."
    assert web.desk.store.get_ticket(ticket.id).status == "answered"


def test_a_customer_who_left_an_address_is_not_asked_again(make_web: Any) -> None:
    web = make_web(present=False)
    visitor = web.client()
    cid = start(visitor)["id"]
    say(visitor, cid, "I want to talk to a human")
    say(visitor, cid, "me@example.com")
    again = say(visitor, cid, "I want to talk to a human")
    assert actions(again) == ["handoff", "no_agent_email_known"] and "me@example.com" in again["replies"][-1]["text"]


def test_a_removed_agent_cannot_sign_in_and_is_not_available(make_web: Any) -> None:
    web = make_web()
    ayse = web.agents["ayse"]
    web.desk.store.remove_agent(ayse.id)
    visitor = web.client()
    cid = start(visitor)["id"]
    assert say(visitor, cid, "I want to talk to a human")["state"] == "missed"
    agent = web.client()
    page = agent.get("/agent/login").get_data(as_text=True)
    from tests.channels.web.conftest import csrf_in

    refused = agent.post("/agent/login", data={"email": ayse.email, "password": PASSWORD, "csrf_token": csrf_in(page), "next": ""})
    assert refused.status_code == 401
