"""What a stored message is: the one vocabulary of message actions.

A bot message's action is the engine's decision (answer, clarify, handoff, small talk) or the
desk's own message it carries (also the key of its phrase in bot/phrases/<lang>.toml); a
customer message kept for the agent and not for the bot is a note. The store keeps the value,
the report classifies conversations by it, the console, the chat renderers and the widget show
messages by it; the widget's copy (`ACTION` in channels/web/static/widget.js) is compared with
this one by a test.
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    # the engine's decision on a customer's message
    ANSWER = "answer"
    CLARIFY = "clarify"
    HANDOFF = "handoff"
    SMALLTALK = "smalltalk"
    # the desk's own messages
    HANDOFF_REQUESTED = "handoff_requested"  # the customer pressed "a person" (or /human)
    HANDOFF_AFTER_NO = "handoff_after_negative_feedback"  # "no" to "did this answer your question?"
    FEEDBACK_THANKS = "feedback_thanks"
    AGENT_JOINED = "agent_joined"
    AGENT_TOOK_OVER = "agent_took_over"  # another agent took a held conversation over (Desk.take_over)
    BACK_TO_BOT = "back_to_bot"
    CONVERSATION_CLOSED = "conversation_closed"
    CSAT_QUESTION = "csat_question"
    CSAT_THANKS = "csat_thanks"
    NO_AGENT_AVAILABLE = "no_agent_available"  # asks for an e-mail address
    NO_AGENT_EMAIL_KNOWN = "no_agent_email_known"  # the same, to a customer who left an address
    REPLY_BY_EMAIL = "reply_by_email"  # outside hours, to a customer who left an address
    OUTSIDE_HOURS = "outside_hours"
    ASK_EMAIL = "ask_email"
    EMAIL_INVALID = "email_invalid"
    TICKET_CREATED = "ticket_created"
    # a customer's message kept for the agent only (a /human command, a photo)
    NOTE = "note"


HANDOFFS = (Action.HANDOFF, Action.HANDOFF_REQUESTED, Action.HANDOFF_AFTER_NO)  # bot messages that hand the conversation to a person
