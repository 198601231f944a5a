"""Agent sign-in: a signed session cookie, a per-session CSRF token on every console POST.

The cookie carries the agent's session generation at sign-in; a session of another generation
is refused, so signing out, a new password or removal ends every session of that agent at once.
Password checks (scrypt, about 50 ms of CPU and 16 MiB each) run one at a time per process: a
sign-in that cannot start within LOGIN_WAIT_SECONDS answers 429, so a flood of sign-ins cannot
take the CPU the chat needs.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import threading
from typing import Any, Callable, TypeVar

from flask import Blueprint, Flask, Response, abort, flash, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from bot.desk.agents import hash_password, verify_password
from bot.store.model import Agent
from channels.web import limits
from channels.web.context import web

bp = Blueprint("auth", __name__, url_prefix="/agent")

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
PROTECTED_BLUEPRINTS = frozenset({"auth", "console", "translations", "suggestions"})
F = TypeVar("F", bound=Callable[..., Any])
_DUMMY_HASH: list[str] = []  # checked when the e-mail is unknown, so both cases take as long
SESSION_GENERATION = "generation"
LOGIN_WAIT_SECONDS = 0.5
LOGIN_RETRY_AFTER = "1"
_password_checks = threading.BoundedSemaphore(1)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure whenever the request came over HTTPS
    (behind a proxy: see ANSWERDESK_TRUSTED_PROXIES), which SESSION_COOKIE_SECURE cannot tell."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or super().get_cookie_secure(app)


def csrf_token() -> str:
    """This session's CSRF token, created on first use."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Before every POST to the console: 400 unless the form field or header carries the session's token."""
    if request.method != "POST" or request.blueprint not in PROTECTED_BLUEPRINTS:
        return
    expected = session.get(CSRF_FIELD)
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        abort(400, description="The form's security token is missing or out of date (CSRF check). Reload the page and try again.")


def load_agent() -> None:
    """Put the signed-in agent, if any, on `g.agent`."""
    g.agent = None
    agent_id = session.get("agent_id")
    if agent_id and request.blueprint in PROTECTED_BLUEPRINTS:
        g.agent = web().desk.store.get_agent(agent_id)
        # The account is gone or was removed, or the session ended (signed out, new password).
        if g.agent is None or g.agent.removed_at is not None or session.get(SESSION_GENERATION) != g.agent.session_generation:
            g.agent = None
            session.pop("agent_id", None)
            session.pop(SESSION_GENERATION, None)
        else:
            web().desk.seen(g.agent.id)  # present while the console is in use (one write per 30 s at most)


def current_agent() -> Agent:
    agent: Agent | None = g.get("agent")
    assert agent is not None, "use @login_required"
    return agent


def login_required(view: F) -> F:
    """Send visitors who are not signed in to the sign-in page."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("agent") is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def login_required_stream(view: F) -> F:
    """Event streams answer 401 instead of redirecting: EventSource cannot follow a sign-in page."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("agent") is None:
            return Response("sign in at /agent/login first\n", status=401, mimetype="text/plain")
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


@bp.get("/login")
def login() -> str:
    return render_template("login.html", next=_safe_next(request.args.get("next")), email="")


@bp.post("/login")
def login_submit() -> Response | tuple[str, int]:
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    # Per account and per address, in the store (all workers): a rate, then a backoff after wrong passwords.
    account, ip, limiter = email.lower(), limits.client_ip(), limits.limiter()
    try:
        limiter.check_sign_in(account, ip)
    except limits.TooManyRequests as e:
        flash(f"{e.message} Try again in {limits.retry_after_text(e.retry_after)}.", "error")
        page = render_template("login.html", next=_safe_next(request.form.get("next")), email=email)
        return Response(page, status=429, headers={"Retry-After": str(e.retry_after)})
    agent = web().desk.store.get_agent_by_email(email) if email else None
    if not _password_checks.acquire(timeout=LOGIN_WAIT_SECONDS):
        flash("Too many sign-ins at this moment; try again in a second.", "error")
        page = render_template("login.html", next=_safe_next(request.form.get("next")), email=email)
        return Response(page, status=429, headers={"Retry-After": LOGIN_RETRY_AFTER})
    try:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(hash_password(secrets.token_urlsafe(16)))
        valid = verify_password(agent.password_hash if agent else _DUMMY_HASH[0], password)
    finally:
        _password_checks.release()
    if agent is None or agent.removed_at is not None or not valid:
        limiter.sign_in_failed(account, ip)
        flash("Wrong e-mail address or password.", "error")
        return render_template("login.html", next=_safe_next(request.form.get("next")), email=email), 401
    limiter.sign_in_succeeded(account, ip)
    session.clear()  # a fresh session (and CSRF token) after signing in
    session.permanent = True
    session["agent_id"] = agent.id
    session[SESSION_GENERATION] = agent.session_generation
    return redirect(_safe_next(request.form.get("next")) or url_for("console.queue"))


@bp.post("/logout")
def logout() -> Response:
    agent: Agent | None = g.get("agent")
    if agent is not None:  # only a live session ends the others: a stale copy cannot sign anyone out
        web().desk.signed_out(agent.id)  # no longer available for handoffs
        web().desk.store.end_sessions(agent.id)  # every copy of this cookie, and other devices' sessions
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Only follow ?next= within the console, never to another site."""
    if target and target.startswith("/agent") and not target.startswith("//") and "\\" not in target:
        return target
    return ""
