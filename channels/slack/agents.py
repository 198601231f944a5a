"""Slack as the agents' desk: a card per handoff from any channel, its buttons, and replies in its thread.

`SlackAgentsDesk` is the `bot.delivery.notify.DeskListener` of the Slack desk: the watcher tells it
about handoffs, new messages and state changes, and it enqueues card posts, thread lines and
card updates. Card buttons and thread replies come back here and go to the `Desk`, which decides:
`take` is the same compare-and-set the web console uses, only the agent who has a conversation
closes it (others press Take over first), a refusal says why (`AgentAction`), and
a Slack user acts as a store agent (bot/desk/agents_desk.py `channel_agent`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from bot.desk.agents_desk import HandoffCard, channel_agent, handoff_card, is_channel_agent
from bot.answer.articles import find_version
from bot.delivery.dedup import SeenKeys
from bot.desk.desk import Desk, NotAllowed, NotFound
from bot.desk.turns import NOT_YOURS, AgentAction
from bot.errors import SearchIndexError
from bot.delivery.notify import Card, DeskCards, shown_state
from bot.store.model import Agent, Conversation, Message
from channels.slack import messages, render
from channels.slack.customers import CHANNEL, Post
from channels.slack.inbound import Click, SlackMessage
from channels.slack.people import People

log = logging.getLogger(__name__)

Deliver = Callable[[Conversation, Sequence[Message]], None]


class SlackAgentsDesk:
    def __init__(
        self,
        desk: Desk,
        cards: DeskCards,
        seen: SeenKeys,
        people: People,
        post: Post,
        agents_channel: str,
        deliverers: Mapping[str, Deliver],
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.desk = desk
        self.store = desk.store
        self.cards = cards
        self.seen = seen
        self.people = people
        self.post = post
        self.agents_channel = agents_channel
        self.deliverers = deliverers  # customer channel -> how its customers get an agent's reply now
        self.wake = wake

    # -- bot.delivery.notify.DeskListener ------------------------------------------------------------
    def handoff(self, card: Card, conversation: Conversation, messages: Sequence[Message]) -> None:
        text, blocks = self._render(conversation, messages)
        args = {"channel": self.agents_channel, "text": text, "blocks": blocks, "unfurl_links": False}
        self.post(self.agents_channel, {"method": "chat.postMessage", "args": args, "card": card.id, "use": "post_card"}, f"card:{card.id}")

    def message(self, card: Card, conversation: Conversation, message: Message) -> None:
        if message.author == "customer":
            line = render.thread_line("Customer", message.text)
        elif message.author == "agent":
            agent = self.store.get_agent(message.agent) if message.agent else None
            if agent is not None and is_channel_agent(agent, CHANNEL):
                return  # written in this thread already
            line = render.thread_line(f"{agent.name if agent else 'Agent'} (console)", message.text)
        else:
            return
        args = {"channel": self.agents_channel, "text": line}
        self.post(self.agents_channel, {"method": "chat.postMessage", "args": args, "card": card.id, "use": "thread"}, f"mirror:{card.id}:{message.id}")

    def state_changed(self, card: Card, conversation: Conversation) -> None:
        text, blocks = self._render(conversation, self.store.list_messages(conversation.id))
        self.post(
            self.agents_channel,
            {"method": "chat.update", "args": {"text": text, "blocks": blocks}, "card": card.id, "use": "update"},
            f"card:{card.id}:{shown_state(conversation)}",
        )

    # -- from Slack -------------------------------------------------------------------------
    def click(self, click: Click) -> None:
        """Take, Take over, Back to bot or Close on a card."""
        card = self.cards.card_by_ref(CHANNEL, f"{click.channel}:{click.message_ts}")
        if card is None or card.conversation_id != click.value:
            log.info("ignored %s by %s: not on one of our cards", click.action_id, click.user)
            return
        agent = self._agent(click.team, click.user)
        self.desk.seen(agent.id)
        kind = render.kind_of(click.action_id)
        try:
            if kind == render.TAKE:
                done = self.desk.take(card.conversation_id, agent.id, agent.name)
            elif kind == render.TAKE_OVER:
                done = self.desk.take_over(card.conversation_id, agent.id, agent.name)
            elif kind == render.BACK:
                done = self.desk.hand_back(card.conversation_id, agent.id)
            elif kind == render.CLOSE:
                done = self.desk.close(card.conversation_id, agent.id)
            else:
                return
        except NotFound:
            done = AgentAction(False, "gone")
        note = self._why(done)
        if note:
            self._note(click.channel, click.user, None, note, f"note:{click.channel}:{click.action_ts}:{click.user}")
        self.wake()  # show the new state on the card now rather than at the next poll

    def reply(self, message: SlackMessage) -> None:
        """An agent's message in a card's thread, to the customer; nothing when it is not in a card's thread."""
        card = self.cards.card_by_ref(CHANNEL, f"{message.channel}:{message.thread_ts}") if message.thread_ts else None
        if card is None or not message.text or not self.seen.first_time(CHANNEL, f"agent:{message.external_id}"):
            return  # not to a customer, nothing to say, or a retried delivery
        agent = self._agent(message.team, message.user)
        self.desk.seen(agent.id)
        try:
            said = self.desk.agent_reply(card.conversation_id, agent.id, message.text)
        except NotAllowed:
            now = self.store.get_conversation(card.conversation_id)
            note = self._why(AgentAction(False, now.state, now.agent) if now else AgentAction(False, "gone"))
            if note:
                self._note(message.channel, message.user, message.thread_ts, note, f"note:{message.external_id}")
            return
        conversation = self.store.get_conversation(card.conversation_id)
        deliver = self.deliverers.get(conversation.channel) if conversation else None
        if conversation is not None and deliver is not None:
            deliver(conversation, [said])

    def here(self, message: SlackMessage) -> None:
        """Any message in the agents' channel: its author is available for the presence window
        (ANSWERDESK_PRESENCE_SECONDS), like an agent with the console open."""
        if message.user and self.seen.first_time(CHANNEL, f"here:{message.external_id}"):
            self.desk.seen(self._agent(message.team, message.user).id)

    # -- pieces -----------------------------------------------------------------------------
    def _render(self, conversation: Conversation, said: Sequence[Message]) -> tuple[str, list[render.Block]]:
        agent = self.store.get_agent(conversation.agent) if conversation.agent else None
        facts: HandoffCard = handoff_card(conversation, said, self._title, agent.name if agent else None)
        return render.card(facts, render.card_status(facts))

    def _title(self, article_id: str, lang: str) -> str | None:
        try:
            version = find_version(self.desk.engine.snapshot(), article_id, lang)
        except SearchIndexError:
            return None
        return version.title if version else None

    def _agent(self, team: str, user: str) -> Agent:
        person = self.people.get(user)
        return channel_agent(self.store, CHANNEL, team, user, person.name, person.languages)

    def _why(self, action: AgentAction) -> str | None:
        """What to tell the agent when the desk refused: None when it was done (or done already)."""
        refusal = action.refusal
        if refusal is None:
            return None
        if refusal in ("gone", "closed", "bot"):
            return messages.NOT_OPEN.format(state=action.state)
        holder = self.store.get_agent(action.holder) if refusal in ("taken", NOT_YOURS) and action.holder else None
        if refusal == NOT_YOURS and holder is not None:
            return messages.HELD_BY_OTHER.format(agent=holder.name)
        if holder is not None:
            return messages.TAKEN_BY_OTHER.format(agent=holder.name)
        return messages.NOT_YOURS.format(state=action.state)

    def _note(self, channel: str, user: str, thread_ts: str | None, text: str, key: str) -> None:
        args = {"channel": channel, "user": user, "text": text}
        if thread_ts:
            args["thread_ts"] = thread_ts
        self.post(channel, {"method": "chat.postEphemeral", "args": args}, key)
