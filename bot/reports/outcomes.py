"""One conversation in the KPI report: its single outcome, why it was handed off, and its response times.

The outcomes are pure functions of a conversation's stored messages, ticket count and state;
`bot.reports.figures` adds them up per channel and day.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.actions import HANDOFFS, Action
from bot.answer.decision import ANSWER, CLARIFY, SMALLTALK
from bot.store.model import Conversation, Message, State


OUTCOMES = ("deflected", "agent", "ticket", "waiting", "missed", "abandoned", "unanswered", "smalltalk_only", "no_reply")
OUTCOME_HELP = {
    "deflected": "the bot answered and nobody asked for a person",
    "agent": "an agent replied",
    "ticket": "a ticket was created",
    "waiting": "handed off, still with the team (queued, or taken and not yet answered)",
    "missed": "handed off when nobody could take it, no address left: in the queue until an agent answers or closes it",
    "abandoned": "handed off, then closed or sent back to the bot by the team with no agent reply and no ticket",
    "unanswered": "the bot offered choices, none was picked, no handoff",
    "smalltalk_only": "only greetings or thanks",
    "no_reply": "no customer message, or nothing was said back",
}
HANDOFF_REASONS = ("not_covered", "asked_for_person", "negative_feedback")


# -- one conversation -----------------------------------------------------------------


def classify_outcome(messages: Sequence[Message], tickets: int, state: State) -> str:
    """The one outcome of a conversation, from its messages (in order), its ticket count and state.

    The first rule that holds wins, so every conversation gets exactly one outcome and the
    shares add up to 100%:

      ticket          a ticket was created for it (the customer left an e-mail address)
      agent           an agent wrote at least one message
      waiting         it was handed off and is still with the team when the report runs:
                      state "waiting", or "agent" (taken, not yet answered)
      missed          it was handed off when nobody could take it (outside hours, nobody
                      available, or not taken in time), left no address, and is still in the
                      queue (state "missed"): the team owes it an answer
      abandoned       it was handed off, but no agent wrote and no ticket was created, and the
                      team closed it or sent it back to the bot: the customer had left
      deflected       the bot answered with an article and never handed off
      unanswered      the bot offered choices ("did you mean") but never answered nor handed off
      smalltalk_only  the bot only answered greetings or thanks
      no_reply        none of the above: no customer message, or nothing was said back

    A handoff is a bot message with action `handoff` (the engine: not covered, or the customer
    asked for a person in words), `handoff_requested` (the button) or
    `handoff_after_negative_feedback` (a "no" on an answer).
    """
    actions = {m.action for m in messages if m.author == "bot"}
    if tickets > 0:
        return "ticket"
    if any(m.author == "agent" for m in messages):
        return "agent"
    handed_off = bool(actions & set(HANDOFFS))
    if handed_off and state in ("waiting", "agent"):
        return "waiting"
    if handed_off and state == "missed":
        return "missed"
    if handed_off:
        return "abandoned"
    if ANSWER in actions:
        return "deflected"
    if CLARIFY in actions:
        return "unanswered"
    if SMALLTALK in actions:
        return "smalltalk_only"
    return "no_reply"


def handoff_reason(message: Message) -> str | None:
    """Why a bot message handed off: not_covered, asked_for_person or negative_feedback; None if it did not."""
    if message.author != "bot" or message.action not in HANDOFFS:
        return None
    if message.action == Action.HANDOFF_AFTER_NO:
        return "negative_feedback"
    if message.action == Action.HANDOFF_REQUESTED:
        return "asked_for_person"
    reason = (message.decision or {}).get("reason")
    return "asked_for_person" if reason == "asked_for_person" else "not_covered"


def queue_entries(messages: Sequence[Message]) -> list[Message]:
    """The handoff messages that put the conversation in the agents' queue.

    The desk moves a conversation to "waiting" at the moment it stores the handoff message,
    unless the team is offline (the very next message is `outside_hours`) or nobody is
    available (the very next message is marked {"missed": "nobody_available"}).
    `Conversation.waiting_since` cannot be used instead: it is cleared once an agent takes it.
    """
    entries = []
    for i, m in enumerate(messages):
        if handoff_reason(m) is None:
            continue
        following = messages[i + 1] if i + 1 < len(messages) else None
        if following is None or (following.action != Action.OUTSIDE_HOURS and missed_why(following) != "nobody_available"):
            entries.append(m)
    return entries


def missed_why(message: Message) -> str | None:
    """Why the desk said a handoff was missed (outside_hours, nobody_available, not_taken); None if not such a message."""
    why = (message.decision or {}).get("missed")
    return str(why) if why else None


def bot_first_response(messages: Sequence[Message]) -> float | None:
    """Seconds from the first customer message to the first bot message after it."""
    first = next((i for i, m in enumerate(messages) if m.author == "customer"), None)
    if first is None:
        return None
    reply = next((m for m in messages[first + 1 :] if m.author == "bot"), None)
    return None if reply is None else (reply.created_at - messages[first].created_at).total_seconds()


def agent_first_response(messages: Sequence[Message]) -> float | None:
    """Seconds from entering the queue (the first queued handoff) to the first agent message after it."""
    entries = queue_entries(messages)
    if not entries:
        return None
    reply = next((m for m in messages if m.author == "agent" and m.id > entries[0].id), None)
    return None if reply is None else (reply.created_at - entries[0].created_at).total_seconds()


@dataclass(frozen=True)
class ConversationFacts:
    """What the report needs to know about one conversation."""

    id: str
    channel: str
    created_at: datetime
    outcome: str
    customer_messages: int
    clarifications: int
    handoff_reasons: tuple[str, ...]  # one per handoff, in order
    outside_hours: int
    nobody_available: int
    no_agent_in_time: int
    tickets: int
    bot_first_response: float | None
    agent_first_response: float | None


def conversation_facts(conversation: Conversation, messages: Sequence[Message], tickets: int) -> ConversationFacts:
    """Summarise one conversation from its messages (any order) and its number of tickets."""
    ordered = sorted(messages, key=lambda m: m.id)
    bot_actions = Counter(m.action for m in ordered if m.author == "bot")
    return ConversationFacts(
        id=conversation.id,
        channel=conversation.channel,
        created_at=conversation.created_at,
        outcome=classify_outcome(ordered, tickets, conversation.state),
        customer_messages=sum(1 for m in ordered if m.author == "customer"),
        clarifications=bot_actions[CLARIFY],
        handoff_reasons=tuple(r for r in map(handoff_reason, ordered) if r is not None),
        outside_hours=bot_actions[Action.OUTSIDE_HOURS],
        nobody_available=sum(1 for m in ordered if m.author == "bot" and missed_why(m) == "nobody_available"),
        # older rows carry no reason: the timer was then the only way to say "no one is available"
        no_agent_in_time=sum(1 for m in ordered if m.author == "bot" and m.action == Action.NO_AGENT_AVAILABLE and missed_why(m) in (None, "not_taken")),
        tickets=tickets,
        bot_first_response=bot_first_response(ordered),
        agent_first_response=agent_first_response(ordered),
    )
