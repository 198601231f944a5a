"""The Flask application factory: wires the desk to the pages, the API and the agent console.

The chat channels (Slack, Telegram) mount themselves on this app in the composition root,
`channels.serve.build_app`; the web channel knows nothing of them."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Callable

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.config import Settings
from bot.desk.desk import Desk, build_desk, utc_now
from bot.errors import SearchIndexError, StorageError
from bot.reindex.job import ReindexJob
from channels.web import api, auth, console, limits, pages, suggestions, translations
from channels.web.context import EXTENSION, WebContext

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024  # a 4,000-character message in JSON is far below this


def create_app(settings: Settings, desk: Desk | None = None, clock: Callable[[], datetime] | None = None) -> Flask:
    """The web app over `desk` (built from the settings when not given)."""
    app = Flask(__name__, static_folder="static", template_folder="templates")
    # Unset, sessions end when the process restarts; set ANSWERDESK_SECRET_KEY to keep them.
    secret = settings.secret_key or secrets.token_hex(32)
    app.config.update(
        SECRET_KEY=secret,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SESSION_COOKIE_NAME="answerdesk_agent",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        SSE_POLL_SECONDS=0.3,
        SSE_HEARTBEAT_SECONDS=15.0,
        SSE_MAX_SECONDS=60.0,
    )
    # Cookies are Secure per request (auth.SessionInterface): over HTTPS, as told by the
    # trusted proxies' X-Forwarded-Proto; other clients cannot forge it when none is trusted.
    app.session_interface = auth.SessionInterface()
    if settings.trusted_proxies:
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    desk = desk or build_desk(settings, clock=clock or utc_now)
    clock = clock or desk.clock
    app.extensions[EXTENSION] = WebContext(settings, desk, clock, ReindexJob(settings, clock))
    app.extensions[limits.EXTENSION] = limits.Limiter.for_store(settings, desk.store, clock)

    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(translations.bp)
    app.register_blueprint(suggestions.bp)
    app.before_request(auth.load_agent)
    app.before_request(auth.check_csrf)
    app.jinja_env.globals["csrf_token"] = auth.csrf_token
    app.jinja_env.globals["site_name"] = pages.SITE_NAME
    app.after_request(_security_headers)
    app.register_error_handler(limits.TooManyRequests, limits.too_many_requests)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(SearchIndexError, _no_index)
    app.register_error_handler(StorageError, _no_store)
    app.register_error_handler(Exception, _unexpected)
    return app


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _http_error(e: HTTPException) -> tuple[Response | str, int, list[tuple[str, str]]]:
    status = e.code or 500
    # The exception's own headers (405: Allow, as HTTP requires; 401: WWW-Authenticate), not its Content-Type.
    headers = [(name, value) for name, value in e.get_headers() if name.lower() != "content-type"]
    if _wants_json():
        message = e.description or e.name
        if status == 413:
            message = f"the request body is over {MAX_BODY_BYTES // 1024} KiB; messages are limited to {api.MAX_TEXT} characters"
        elif status == 405:
            message = f"{request.method} is not allowed on {request.path} (allowed: {', '.join(getattr(e, 'valid_methods', None) or [])}); see /api/openapi.yaml"
        elif status == 404:
            message = f"no such endpoint {request.path}; see /api/openapi.yaml"
        return jsonify(error=message), status, headers
    return render_template("error.html", status=status, title=e.name, message=e.description, lang="en", dir="ltr"), status, headers


def _no_index(e: SearchIndexError) -> tuple[Response | str, int]:
    log.error("no usable search index: %s", e)
    if _wants_json():
        return jsonify(status="unavailable", error=str(e)), 503
    return render_template("error.html", status=503, title="No help-center index yet", message=str(e), lang="en", dir="ltr"), 503


def _no_store(e: StorageError) -> tuple[Response | str, int, dict[str, str]]:
    """The database cannot be reached or is locked: nothing was half-done (every write is one
    transaction), so the client may simply retry; a retried message is stored once (client_id)."""
    conversation = (request.view_args or {}).get("conversation_id")
    log.error("storage unavailable on %s %s (conversation %s): %s", request.method, request.path, conversation, e)
    retry = {"Retry-After": "2"}
    message = "We cannot reach our database right now; please try again in a moment."
    if _wants_json():
        return jsonify(error=message), 503, retry
    return render_template("error.html", status=503, title="Temporarily unavailable", message=message, lang="en", dir="ltr"), 503, retry


def _unexpected(e: Exception) -> tuple[Response | str, int]:
    conversation = (request.view_args or {}).get("conversation_id")
    log.exception("unexpected error on %s %s (conversation %s)", request.method, request.path, conversation)
    message = "Something went wrong on our side; please try again in a moment."
    if _wants_json():
        return jsonify(error=message), 500
    return render_template("error.html", status=500, title="Server error", message=message, lang="en", dir="ltr"), 500


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        # Nothing loads from elsewhere; no inline scripts. Inline styles stay allowed for the widget.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        )
        response.headers.setdefault("X-Frame-Options", "DENY")
    if request.blueprint in ("auth", "console"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
