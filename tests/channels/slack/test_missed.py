"""No customer lost with Slack as the agents' desk: presence from the agents' channel, a missed
card taken later, and a Slack customer who gets the late answer (issue 13)."""

from __future__ import annotations

from tests.channels.slack.conftest import AGENTS, Rig, buttons, posted_message
from tests.channels.slack.fake_slack import TEAM
from tests.channels.slack.test_agents_desk import agent_says, button, posted_card, transcript
from tests.channels.web.conftest import say, start


def nobody_available(rig: Rig) -> None:
    for agent in rig.desk.available_agents():
        rig.desk.signed_out(agent.id)


def test_a_missed_web_handoff_gets_a_card_and_is_answered_later_from_slack(rig: Rig) -> None:
    nobody_available(rig)
    web = rig.client()
    conversation_id = start(web)["id"]
    turn = say(web, conversation_id, "I want to talk to a person")
    assert turn["state"] == "missed" and turn["replies"][-1]["action"] == "no_agent_available"
    card = posted_card(rig)
    assert "Missed: nobody was available" in str(card.args["blocks"])
    assert [b["text"]["text"] for b in buttons(card)] == ["Take", "Back to bot", "Close"]
    assert rig.click("U0AGENT", AGENTS, posted_message(card), button(card, "answerdesk.take")).status_code == 200
    rig.fake.wait_for(lambda: rig.desk.store.get_conversation(conversation_id).state == "agent")
    agent_says(rig, "Sorry for the wait, I'm here now.", card.response["ts"])
    seen = rig.fake.wait_for(lambda: [m for m in transcript(web, conversation_id)["messages"] if m["author"] == "agent"])
    assert seen[0]["text"] == "Sorry for the wait, I'm here now."  # the visitor sees it when they come back


def test_a_word_in_the_agents_channel_makes_an_agent_available(rig: Rig) -> None:
    nobody_available(rig)
    event = {"type": "message", "channel": AGENTS, "channel_type": "channel", "user": "U0AGENT", "text": "here",
             "ts": "1660000000.000900", "team": TEAM}
    assert rig.event(event).status_code == 200
    rig.fake.wait_for(lambda: rig.desk.available_agents())
    [agent] = rig.desk.available_agents()
    assert agent.email == f"slack:{TEAM}:U0AGENT".lower()
    web = rig.client()
    conversation_id = start(web)["id"]
    assert say(web, conversation_id, "I want to talk to a person")["state"] == "waiting"


def test_a_missed_slack_customer_gets_the_late_answer_in_their_dm(make_rig) -> None:  # type: ignore[no-untyped-def]
    from bot.desk.agents import create_agent

    rig = make_rig(slack_agents_channel="")
    nobody_available(rig)
    _, ts = rig.dm("U0JOHN", "I want to talk to a person")
    rig.fake.wait_for(lambda: rig.desk.store.list_conversations(state="missed"))
    [conversation] = rig.desk.store.list_conversations(state="missed")
    ayse = create_agent(rig.desk.store, "ayse@example.com", "Ayşe", "correct horse battery", ["en"])
    assert rig.desk.take(conversation.id, ayse.id, ayse.name)
    rig.desk.agent_reply(conversation.id, ayse.id, "Hello John, sorry for the wait!")
    said = rig.fake.wait_sent(channel="DU0JOHN", thread_ts=ts, count=4)
    texts = [c.args["text"] for c in said]
    assert texts[1].startswith("Sorry, no one from our team is available right now")
    assert texts[-1] == "Ayşe: Hello John, sorry for the wait!"
    rig.idle()
