"""An agents' desk in a chat tool: what a handoff card says, and who the chat tool's agents are.

Channel-neutral: the Slack adapter renders a `HandoffCard` as Block Kit; another desk (Teams,
Telegram) would render the same facts. A chat user who takes a conversation becomes a store
`Agent` with the e-mail address `<desk>:<workspace>:<user id>` (lower-case, never a real
address) and a password hash that matches no password, so the account cannot sign in to the
web console; `Desk.take` then works with its id like with any console agent's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.actions import Action
from bot.errors import StorageError
from bot.store.model import Agent, Conversation, Message, Store

NO_PASSWORD = "!"  # bot.desk.agents.verify_password rejects it: not a hash at all
TRANSCRIPT_LINES = 8
LINE_CHARACTERS = 300
# Bot messages that hand a conversation over (bot/answer/engine.py, bot/desk/desk.py), and why.
HANDOFF_REASONS = {
    Action.HANDOFF: "not_covered",
    Action.HANDOFF_REQUESTED: "asked_for_person",
    Action.HANDOFF_AFTER_NO: "negative_feedback",
}


@dataclass(frozen=True)
class Candidate:
    article_id: str
    title: str | None
    score: float | None


@dataclass(frozen=True)
class Line:
    author: str  # customer | bot | agent
    text: str


@dataclass(frozen=True)
class HandoffCard:
    """What an agent needs to decide whether to take a conversation."""

    conversation_id: str
    channel: str  # the customer's: web, slack, telegram
    lang: str
    state: str
    agent_name: str | None
    question: str | None  # the customer's last message before the handoff
    reason: str | None  # not_covered | asked_for_person | negative_feedback
    candidates: tuple[Candidate, ...]
    transcript: tuple[Line, ...]
    expired: bool = False  # nobody took it in time: the bot offered the ticket path
    email: str | None = None  # the address the customer left, if any


def handoff_card(
    conversation: Conversation,
    messages: Sequence[Message],
    title: Callable[[str, str], str | None],
    agent_name: str | None = None,
) -> HandoffCard:
    """The card of a conversation from its messages; `title(article_id, lang)` names the candidates."""
    said = [m for m in messages if m.author in ("customer", "bot", "agent")]
    handoff = next((m for m in reversed(said) if m.author == "bot" and m.action in HANDOFF_REASONS), None)
    upto = handoff.id if handoff else (said[-1].id if said else 0)
    question = next((m.text for m in reversed(said) if m.author == "customer" and m.id <= upto), None)
    reason = None
    if handoff is not None:
        reason = HANDOFF_REASONS[handoff.action or ""]
        if handoff.action == Action.HANDOFF and (handoff.decision or {}).get("reason") == "asked_for_person":
            reason = "asked_for_person"
    evidence = next((m.decision for m in reversed(said) if m.author == "bot" and m.decision and m.decision.get("candidates")), None)
    candidates = tuple(
        Candidate(str(c["id"]), title(str(c["id"]), conversation.lang), c.get("score"))
        for c in (evidence or {}).get("candidates", [])
    )
    transcript = tuple(Line(m.author, _shorten(m.text)) for m in said[-TRANSCRIPT_LINES:])
    expired = any(m.action == Action.NO_AGENT_AVAILABLE for m in said if m.id > upto)
    return HandoffCard(
        conversation.id, conversation.channel, conversation.lang, conversation.state, agent_name,
        question, reason, candidates, transcript, expired, conversation.email,
    )


def channel_agent(store: Store, desk: str, workspace: str, user_id: str, name: str, languages: Sequence[str] = ()) -> Agent:
    """The store agent of a chat tool's user, created the first time they act as one."""
    email = f"{desk}:{workspace}:{user_id}".lower()
    found = store.get_agent_by_email(email)
    if found is not None:
        return found
    try:
        return store.add_agent(name.strip() or user_id, email, NO_PASSWORD, list(languages))
    except StorageError:
        found = store.get_agent_by_email(email)  # the same user acted twice at once
        if found is None:
            raise
        return found


def is_channel_agent(agent: Agent, desk: str) -> bool:
    """Whether the agent account stands for a user of this chat tool (rather than a console sign-in)."""
    return agent.email.startswith(f"{desk}:")


def _shorten(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= LINE_CHARACTERS else flat[: LINE_CHARACTERS - 1] + "…"
