"""What the desk's calls give back: a customer's turn, an agent's action, and the two refusals;
and how a desk call becomes one transaction."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from dataclasses import dataclass

from bot.errors import AnswerdeskError
from bot.store.model import Conversation, Message


NOT_YOURS = "not_yours"


class NotFound(AnswerdeskError):
    """No conversation (or message) with that id."""


class NotAllowed(AnswerdeskError):
    """The action does not fit the conversation's state (e.g. replying to one you do not have)."""


@dataclass(frozen=True)
class AgentAction:
    """What an agent's take, send-back or close did: true when done; when refused, why, from the
    conversation as it is now (`state`, and `holder`, the agent who has it, if any)."""

    done: bool
    state: str  # "gone" when there is no such conversation
    holder: str | None = None
    already: bool = False  # refused only because it was done already (a double click)
    reason: str | None = None  # the desk's own refusal, when the state alone does not say it (NOT_YOURS)

    def __bool__(self) -> bool:
        return self.done

    @property
    def refusal(self) -> str | None:
        """Why it was refused: "gone", "closed", "bot" (not handed off), "taken" (another agent has
        it), "not_yours" (an agent action on a conversation you do not have: closing one another
        agent has, whom `holder` names; take it over first); None when done."""
        if self.done or self.already:
            return None
        if self.reason is not None:
            return self.reason
        if self.state in ("gone", "closed", "bot"):
            return self.state
        return "taken" if self.holder else "not_yours"


@dataclass(frozen=True)
class Turn:
    """What one action stored: the customer's message (if any) and everything said in reply."""

    conversation: Conversation
    message: Message | None
    replies: tuple[Message, ...]
    duplicate: bool = False


def question_answered(history: Sequence[Message], reply: Message) -> Message | None:
    """The customer message `reply` answers, from the conversation's messages in order: the one its
    evidence names (replies to two quick messages may be stored after both), else the customer's
    last message before it. Only messages the customer sent on the platform count (they have an
    external id; a pressed choice has none): a chat channel threads the reply under it."""
    answers = (reply.decision or {}).get("answers")
    for message in reversed(history):
        if message.author != "customer" or not message.external_id:
            continue
        if (message.id == answers) if answers is not None else (message.id < reply.id):
            return message
    return None


F = TypeVar("F", bound=Callable[..., Any])


def one_transaction(method: F) -> F:
    """The desk method's writes as one transaction: one commit, all or nothing."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self.store.atomic():
            return method(self, *args, **kwargs)

    return run  # type: ignore[return-value]


class AnsweredElsewhere(Exception):
    """Raised inside a turn's transaction to undo it: another worker stored the same message or
    its answer first."""
