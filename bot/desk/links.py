"""Links back to a conversation, for the e-mails that answer a customer who left.

The link carries the conversation id signed with ANSWERDESK_SECRET_KEY (itsdangerous, the
signing library Flask's sessions use), so nobody can forge one for another customer's
conversation; it expires after `LINK_DAYS`. Opening it on the web (channels/web/pages.py) makes
that browser the conversation's visitor and opens the chat. Without ANSWERDESK_PUBLIC_URL
(nowhere to link to) or ANSWERDESK_SECRET_KEY (a random key per process would break the link
at the next restart) there is no link, and the e-mail says so by leaving the line out.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.config import Settings
from bot.store.model import Conversation

LINK_DAYS = 30
LINK_PATH = "/chat/"
_SALT = "answerdesk-conversation-link"


def conversation_link(settings: Settings, conversation: Conversation) -> str | None:
    """The customer's way back to a web conversation, or None (another channel, or no URL or key set)."""
    if conversation.channel != "web" or not settings.public_url or not settings.secret_key:
        return None
    token = URLSafeTimedSerializer(settings.secret_key, salt=_SALT).dumps(conversation.id)
    return settings.public_url.rstrip("/") + LINK_PATH + token


def read_link(secret_key: str, token: str) -> str | None:
    """The conversation id a link names, or None when it is forged, damaged or older than LINK_DAYS."""
    if not secret_key:
        return None
    try:
        value = URLSafeTimedSerializer(secret_key, salt=_SALT).loads(token, max_age=LINK_DAYS * 24 * 3600)
    except BadSignature:  # SignatureExpired is one
        return None
    return value if isinstance(value, str) else None
