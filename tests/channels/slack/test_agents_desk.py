"""Slack as the agents' desk: handoffs from any channel become cards; Take, thread replies, Close."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.channels.slack.conftest import AGENTS, Rig, buttons, posted_message
from tests.channels.slack.fake_slack import TEAM
from tests.channels.web.conftest import say, start


def button(call: Any, action_id: str) -> dict[str, Any]:
    return next(b for b in buttons(call) if b["action_id"] == action_id)


def posted_card(rig: Rig, count: int = 1) -> Any:
    """The card in the agents' channel, once the channel has recorded where it is (an agent can click it)."""
    card = rig.fake.wait_sent(channel=AGENTS, count=count)[count - 1]
    rig.fake.wait_for(lambda: rig.channel.cards.card_by_ref("slack", f"{AGENTS}:{card.response['ts']}"))
    return card


def agent_says(rig: Rig, text: str, card_ts: str, user: str = "U0AGENT", ts: str = "1660000000.000100") -> None:
    event = {"type": "message", "channel": AGENTS, "channel_type": "channel", "user": user, "text": text,
             "ts": ts, "thread_ts": card_ts, "team": TEAM}
    assert rig.event(event).status_code == 200


def transcript(web: FlaskClient, conversation_id: str) -> dict[str, Any]:
    response = web.get(f"/api/conversations/{conversation_id}")
    assert response.status_code == 200
    return response.get_json()


def test_a_web_handoff_is_taken_and_answered_from_slack(rig: Rig) -> None:
    web = rig.client()
    conversation_id = start(web)["id"]
    assert say(web, conversation_id, "I want to talk to a person")["state"] == "waiting"

    card = posted_card(rig)
    assert "Handoff from web" in card.args["text"] and "I want to talk to a person" in str(card.args["blocks"])
    assert [b["text"]["text"] for b in buttons(card)] == ["Take", "Back to bot", "Close"]
    card_ts = card.response["ts"]

    assert rig.click("U0AGENT", AGENTS, posted_message(card), button(card, "answerdesk.take")).status_code == 200
    rig.fake.wait_for(lambda: rig.desk.store.get_conversation(conversation_id).state == "agent")
    agent = rig.desk.store.get_agent_by_email(f"slack:{TEAM}:U0AGENT")
    assert agent is not None and agent.name == "Deniz" and agent.languages == ("en",)
    assert rig.desk.store.get_conversation(conversation_id).agent == agent.id
    [update] = rig.fake.wait_sent("chat.update", ts=card_ts)
    assert "Taken by Deniz" in str(update.args["blocks"]) and "Take" not in [b["text"]["text"] for b in buttons(update)]

    agent_says(rig, "Hi, I'm Deniz. What is your order number?", card_ts)
    seen = rig.fake.wait_for(lambda: [m for m in transcript(web, conversation_id)["messages"] if m["author"] == "agent"])
    assert seen[0]["text"] == "Hi, I'm Deniz. What is your order number?"

    say(web, conversation_id, "It is 12345")  # the visitor's next message appears in the card's thread
    [line] = rig.fake.wait_for(lambda: [c for c in rig.fake.sent(channel=AGENTS, thread_ts=card_ts) if "12345" in c.args["text"]])
    assert line.args["text"] == "*Customer:* It is 12345"


def test_only_one_agent_takes_a_conversation(rig: Rig) -> None:
    web = rig.client()
    conversation_id = start(web)["id"]
    say(web, conversation_id, "I want to talk to a person")
    card = posted_card(rig)
    rig.click("U0AGENT", AGENTS, posted_message(card), button(card, "answerdesk.take"))
    rig.fake.wait_for(lambda: rig.desk.store.get_conversation(conversation_id).state == "agent")
    rig.click("U0AGENT2", AGENTS, posted_message(card), button(card, "answerdesk.take"))
    [note] = rig.fake.wait_sent("chat.postEphemeral", user="U0AGENT2")
    assert note.args["text"] == "Deniz already has this conversation."
    agent_says(rig, "let me help", card.response["ts"], user="U0AGENT2")
    rig.fake.wait_sent("chat.postEphemeral", count=2)
    rig.idle()
    owner = rig.desk.store.get_agent_by_email(f"slack:{TEAM}:U0AGENT")
    assert rig.desk.store.get_conversation(conversation_id).agent == owner.id
    assert not [m for m in rig.messages("agent")]


def test_a_slack_customer_handed_to_a_slack_agent_and_rated(rig: Rig) -> None:
    _, ts = rig.dm("U0JOHN", "I want to talk to a person")
    card = posted_card(rig)
    assert "Handoff from slack" in card.args["text"]
    rig.click("U0AGENT", AGENTS, posted_message(card), button(card, "answerdesk.take"))
    joined = rig.fake.wait_for(lambda: [c for c in rig.fake.sent(channel="DU0JOHN") if "Deniz has joined" in c.args["text"]])
    assert joined[0].args["thread_ts"] == ts

    agent_says(rig, "Hello John, how can I help?", card.response["ts"])
    [reply] = rig.fake.wait_for(lambda: [c for c in rig.fake.sent(channel="DU0JOHN") if "how can I help" in c.args["text"]])
    assert reply.args["thread_ts"] == ts and reply.args["text"] == "Deniz: Hello John, how can I help?"

    _, later = rig.dm("U0JOHN", "my parcel is late")  # the bot stays silent; the agents see it
    rig.fake.wait_for(lambda: [c for c in rig.fake.sent(channel=AGENTS) if "my parcel is late" in c.args["text"]])

    rig.click("U0AGENT", AGENTS, posted_message(card), button(card, "answerdesk.close"))
    [question] = rig.fake.wait_for(lambda: [c for c in rig.fake.sent(channel="DU0JOHN") if "1 to 5" in c.args["text"]])
    assert question.args["thread_ts"] == later
    rig.click("U0JOHN", "DU0JOHN", posted_message(question), button(question, "answerdesk.csat.4"))
    rig.fake.wait_for(lambda: rig.desk.store.list_feedback())
    assert [f.csat for f in rig.desk.store.list_feedback()] == [4]
    rig.fake.wait_for(lambda: [c for c in rig.fake.sent("chat.update", ts=card.response["ts"]) if "Closed." in str(c.args["blocks"])])
    rig.idle()
    assert len(rig.fake.sent(channel=AGENTS)) == 2  # the card and the customer's line, nothing twice


def test_back_to_bot_on_a_waiting_card_returns_the_conversation(rig: Rig) -> None:
    web = rig.client()
    conversation_id = start(web)["id"]
    say(web, conversation_id, "I want to talk to a person")
    card = posted_card(rig)
    rig.click("U0AGENT", AGENTS, posted_message(card), button(card, "answerdesk.back"))
    rig.fake.wait_for(lambda: rig.desk.store.get_conversation(conversation_id).state == "bot")
    rig.fake.wait_for(lambda: [c for c in rig.fake.sent("chat.update", ts=card.response["ts"]) if "Back with the bot." in str(c.args["blocks"])])
    rig.idle()
    said = [m.action for m in rig.desk.store.list_messages(conversation_id) if m.author == "bot"]
    assert said[-1] == "back_to_bot" and "agent_joined" not in said  # sent back directly, never taken on the way


def test_a_console_agents_reply_is_shown_in_the_card_thread(rig: Rig) -> None:
    web = rig.client()
    conversation_id = start(web)["id"]
    say(web, conversation_id, "I want to talk to a person")
    card = posted_card(rig)
    from bot.desk.agents import create_agent

    ayse = create_agent(rig.desk.store, "ayse@example.com", "Ayşe", "correct horse battery", ["tr"])
    assert rig.desk.take(conversation_id, ayse.id, ayse.name)
    rig.desk.agent_reply(conversation_id, ayse.id, "Merhaba!")
    rig.fake.wait_for(lambda: [c for c in rig.fake.sent(channel=AGENTS, thread_ts=card.response["ts"]) if c.args["text"] == "*Ayşe (console):* Merhaba!"])
    rig.fake.wait_for(lambda: [c for c in rig.fake.sent("chat.update", ts=card.response["ts"]) if "Taken by Ayşe" in str(c.args["blocks"])])
