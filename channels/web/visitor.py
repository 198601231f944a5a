"""Who a widget visitor is: an id the server made, in a cookie the server signed.

The cookie holds `<visitor id>.<signature>` (itsdangerous `Signer`, the app's SECRET_KEY, a salt of
its own). A cookie the server did not sign, or signed with another key, is no visitor: the next
`POST /api/conversations` makes a new one, so a client can never choose to be someone else.
Conversations keep the bare visitor id as their `external_user`.
"""

from __future__ import annotations

import secrets

from flask import Response, current_app, request
from itsdangerous import BadSignature, Signer

VISITOR_COOKIE = "answerdesk_visitor"
VISITOR_MAX_AGE = 365 * 24 * 3600
_SALT = "answerdesk.visitor"


def new_visitor_id() -> str:
    """A fresh random visitor id (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def visitor_id() -> str | None:
    """The visitor id in this request's cookie; None when there is none or it is not signed by this server."""
    value = request.cookies.get(VISITOR_COOKIE)
    if not value:
        return None
    try:
        raw = _signer().unsign(value)
    except BadSignature:
        return None
    visitor = raw.decode("utf-8", "replace")
    return visitor or None


def set_visitor_cookie(response: Response, visitor: str) -> None:
    """Make `visitor` this browser's identity: the signed cookie, HttpOnly, SameSite=Lax, for a year."""
    signed = _signer().sign(visitor).decode("ascii")
    response.set_cookie(VISITOR_COOKIE, signed, max_age=VISITOR_MAX_AGE, httponly=True, samesite="Lax", secure=request.is_secure)


def _signer() -> Signer:
    return Signer(current_app.secret_key, salt=_SALT)  # type: ignore[arg-type]
