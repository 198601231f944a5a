"""A pressed button, on whatever channel, and the desk action it asks for.

Every chat channel shows the same four kinds of button under a bot message and parses a press
back into a `Button`; `press` checks that the conversation is the presser's and does what the
button asks. A channel keeps only its own encoding of a button (Slack's action value, Telegram's
64-byte callback data) and the "each set of buttons counts once" of its platform.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.desk.desk import Desk, NotAllowed, NotFound, Turn


class ButtonKind(StrEnum):
    CHOOSE = "choose"  # one of the articles a clarifying message offered; value: its position, from 0
    PERSON = "person"  # "none of these": the customer asks for a person
    HELPFUL = "helpful"  # "did this answer your question?"; value: "yes" or "no"
    CSAT = "csat"  # the 1-5 rating asked for at the close; value: the score


@dataclass(frozen=True)
class Button:
    kind: ButtonKind
    conversation_id: str
    message_id: int | None = None  # the bot message the button is under (CHOOSE and HELPFUL need it)
    value: str = ""


def press(desk: Desk, button: Button, channel: str, is_presser: Callable[[str], bool]) -> Turn:
    """Do what `button` asks in its conversation. `is_presser(external_user)` tells whether the
    conversation's customer is the one who pressed: NotAllowed when not (or on another channel),
    NotFound when the message or the choice it names does not exist, ValueError for a bad value."""
    conversation = desk.store.get_conversation(button.conversation_id)
    if conversation is None or conversation.channel != channel or not is_presser(conversation.external_user):
        raise NotAllowed(f"conversation {button.conversation_id} is not the presser's on {channel}")
    if button.kind is ButtonKind.CHOOSE:
        return desk.choose(conversation.id, _offered(desk, button))
    if button.kind is ButtonKind.HELPFUL:
        if button.message_id is None or button.value not in ("yes", "no"):
            raise ValueError(f"a helpful button needs a message id and yes or no, not {button.value!r}")
        return desk.rate_answer(conversation.id, button.message_id, button.value == "yes")
    if button.kind is ButtonKind.CSAT:
        if not button.value.isdigit():
            raise ValueError(f"a rating is a number from 1 to 5, not {button.value!r}")
        return desk.rate_conversation(conversation.id, int(button.value))
    return desk.ask_for_person(conversation.id)


def _offered(desk: Desk, button: Button) -> str:
    """The article id of the choice the button names, from the message that offered it."""
    said = desk.store.list_messages(button.conversation_id) if button.message_id is not None else []
    offered = next((m for m in said if m.id == button.message_id), None)
    if offered is None or not offered.choices:
        raise NotFound(f"message {button.message_id} offered no choices in conversation {button.conversation_id}")
    if not button.value.isdigit() or int(button.value) >= len(offered.choices):
        raise NotFound(f"message {button.message_id} offered no choice {button.value!r}")
    return offered.choices[int(button.value)].article_id
