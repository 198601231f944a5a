"""The Slack agents' desk follows the desk's rule: only the agent who has a conversation closes it;
another presses Take over, which the customer's transcript records."""

from __future__ import annotations

from tests.channels.slack.conftest import AGENTS, Rig, buttons, posted_message
from tests.channels.slack.fake_slack import TEAM
from tests.channels.slack.test_agents_desk import button, posted_card
from tests.channels.web.conftest import say, start


def test_close_by_another_agent_is_refused_with_the_reason_and_take_over_hands_it_over(rig: Rig) -> None:
    web = rig.client()
    conversation_id = start(web)["id"]
    say(web, conversation_id, "I want to talk to a person")
    card = posted_card(rig)
    card_ts = card.response["ts"]
    rig.click("U0AGENT", AGENTS, posted_message(card), button(card, "answerdesk.take"))
    rig.fake.wait_for(lambda: rig.desk.store.get_conversation(conversation_id).state == "agent")
    [update] = rig.fake.wait_sent("chat.update", ts=card_ts)
    assert [b["text"]["text"] for b in buttons(update)] == ["Take over", "Back to bot", "Close"]

    rig.click("U0AGENT2", AGENTS, posted_message(update), button(update, "answerdesk.close"))
    [note] = rig.fake.wait_sent("chat.postEphemeral", user="U0AGENT2")
    assert note.args["text"].startswith("Deniz has this conversation: only they can close it.") and "Take over" in note.args["text"]
    assert rig.desk.store.get_conversation(conversation_id).state == "agent"

    rig.click("U0AGENT2", AGENTS, posted_message(update), button(update, "answerdesk.take_over"))
    omar = rig.desk.store.get_agent_by_email(f"slack:{TEAM}:U0AGENT2")
    rig.fake.wait_for(lambda: rig.desk.store.get_conversation(conversation_id).agent == omar.id)
    rig.fake.wait_for(lambda: [c for c in rig.fake.sent("chat.update", ts=card_ts) if "Taken by Omar" in str(c.args["blocks"])])
    said = [m for m in rig.desk.store.list_messages(conversation_id) if m.action == "agent_took_over"]
    assert [m.text for m in said] == ["Omar has taken over the conversation."]

    rig.click("U0AGENT", AGENTS, posted_message(update), button(update, "answerdesk.close"))  # Deniz's turn to be refused
    rig.fake.wait_sent("chat.postEphemeral", user="U0AGENT")
    assert rig.desk.store.get_conversation(conversation_id).state == "agent"
    rig.click("U0AGENT2", AGENTS, posted_message(update), button(update, "answerdesk.close"))
    rig.fake.wait_for(lambda: rig.desk.store.get_conversation(conversation_id).state == "closed")
    rig.idle()
