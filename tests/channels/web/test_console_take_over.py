"""The console's close and take-over: only the agent who has a conversation closes it; another
agent takes it over explicitly, and the customer's transcript says so."""

from __future__ import annotations

from tests.channels.web.conftest import Web, console_post, say, sign_in, start


def _taken_by_ayse(web: Web) -> str:
    visitor = web.client()
    cid = start(visitor)["id"]
    assert say(visitor, cid, "I want to talk to a person")["state"] == "waiting"
    assert web.desk.take(cid, web.agents["ayse"].id, "Ayşe")
    return cid


def test_another_agent_cannot_close_a_conversation_and_is_told_why(web: Web) -> None:
    cid = _taken_by_ayse(web)
    omar = web.client()
    sign_in(omar, "omar@example.com")
    refused = console_post(omar, f"/agent/conversations/{cid}/close")
    assert refused.headers["Location"].endswith(f"/agent/conversations/{cid}")
    assert web.desk.store.get_conversation(cid).state == "agent"
    page = omar.get(f"/agent/conversations/{cid}").get_data(as_text=True)
    assert "Ayşe has this conversation: only they can close it" in page
    assert f"/agent/conversations/{cid}/take-over" in page and "Take over from Ayşe" in page
    assert f"/agent/conversations/{cid}/close" not in page  # no Close button for a conversation that is not his


def test_an_agent_takes_a_conversation_over_then_may_close_it(web: Web) -> None:
    cid = _taken_by_ayse(web)
    omar, ayse = web.client(), web.client()
    sign_in(omar, "omar@example.com")
    sign_in(ayse)
    assert console_post(omar, f"/agent/conversations/{cid}/take-over").headers["Location"].endswith(f"/agent/conversations/{cid}")
    now = web.desk.store.get_conversation(cid)
    assert now.state == "agent" and now.agent == web.agents["omar"].id
    page = omar.get(f"/agent/conversations/{cid}").get_data(as_text=True)
    assert "You took this conversation over from Ayşe" in page and 'id="reply"' in page
    assert "Omar has taken over the conversation." in page  # in the transcript, as the customer sees it
    # Ayşe's turn to be refused, and Omar closes it.
    assert console_post(ayse, f"/agent/conversations/{cid}/close").status_code == 302
    assert web.desk.store.get_conversation(cid).state == "agent"
    assert console_post(omar, f"/agent/conversations/{cid}/close").headers["Location"] == "/agent/"
    assert web.desk.store.get_conversation(cid).state == "closed"


def test_any_agent_closes_a_missed_conversation(web: Web) -> None:
    visitor = web.client()
    cid = start(visitor)["id"]
    assert web.desk.store.transition(cid, ("bot",), "missed")
    omar = web.client()
    sign_in(omar, "omar@example.com")
    assert console_post(omar, f"/agent/conversations/{cid}/close").headers["Location"] == "/agent/"
    assert web.desk.store.get_conversation(cid).state == "closed"
