"""No customer lost on Telegram: with nobody available, /human is missed at once, and an agent's
answer written later reaches the chat (issue 13)."""

from __future__ import annotations

from bot.desk.agents import create_agent
from tests.channels.telegram.conftest import Rig


def test_nobody_available_then_a_later_answer_reaches_the_chat(rig: Rig) -> None:
    for agent in rig.desk.available_agents():
        rig.desk.signed_out(agent.id)  # the team went home
    rig.say(611, "/human", lang="tr")
    rig.fake.wait_for(lambda: rig.desk.store.list_conversations(state="missed"))
    [conversation] = rig.desk.store.list_conversations(state="missed")
    connecting, sorry = rig.fake.wait_sent(chat_id=611, count=2)
    assert sorry.args["text"].startswith("Üzgünüz, şu anda ekibimizden müsait kimse yok")  # at once, in Turkish
    # Later an agent signs in, finds it in the queue and answers.
    leyla = create_agent(rig.desk.store, "leyla@example.com", "Leyla Kaya", "correct horse battery", ["tr"])
    rig.desk.seen(leyla.id)
    assert [c.id for c in rig.desk.store.waiting_queue(("tr",), states=("waiting", "missed"))] == [conversation.id]
    assert rig.desk.take(conversation.id, leyla.id, leyla.name)
    rig.desk.agent_reply(conversation.id, leyla.id, "Merhaba, siparişiniz yola çıktı.")
    said = rig.fake.wait_sent(chat_id=611, count=4)
    assert said[-1].args["text"] == "<b>Leyla Kaya:</b> Merhaba, siparişiniz yola çıktı."
    rig.idle()
    assert len(rig.fake.sent(chat_id=611)) == 4  # connecting, sorry, joined, the answer: once each
