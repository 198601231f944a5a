"""Settings: one frozen dataclass, read from the environment and an optional TOML file.

Every field is declared once, with its environment variable, default and help text;
`README.md` documents them all (a test checks it). Precedence: environment, then the
TOML file named by ANSWERDESK_CONFIG, then the default.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Mapping

from limits import RateLimitItem, parse_many

from bot.errors import ConfigError


AGENT_NAMES = ("full", "first", "team")
SMTP_SECURITY = ("starttls", "ssl", "none")
_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")
_ADDRESS = re.compile(r"[^\s@<>]+@[^\s@<>]+")


def _setting(default: Any, env: str, help: str) -> Any:
    return field(default=default, metadata={"env": env, "help": help})


@dataclass(frozen=True)
class Settings:
    kb_dir: str = _setting("kb_source", "ANSWERDESK_KB", "Folder of the knowledge base: <lang>/<article-id>.md files.")
    index_dir: str = _setting("var/index", "ANSWERDESK_INDEX", "Folder the search index is built into and served from.")
    encoder: str = _setting(
        "e5+use",
        "ANSWERDESK_ENCODER",
        "Sentence encoders, joined by '+': 'e5' (multilingual-e5-small, about 100 languages), 'use' "
        "(multilingual USE, 16 languages), 'st:<model name or path>' (sentence-transformers, needs the "
        "'st' extra) or 'hash' (tests only). All run offline without torch except 'st:'.",
    )
    threads: int = _setting(2, "ANSWERDESK_THREADS", "Threads that encode one message (with e5: e5's, USE keeps one); FAISS searches one query with one. With several workers, each takes at most its share of the cores (cores // workers).")
    build_threads: int = _setting(2, "ANSWERDESK_BUILD_THREADS", "Processes that encode passages while reindexing a large KB.")
    languages: str = _setting(
        "",
        "ANSWERDESK_LANGUAGES",
        "Comma-separated ISO 639-1 codes the bot serves; empty means the KB's languages plus the bot's phrase languages.",
    )
    extra_languages: str = _setting(
        "",
        "ANSWERDESK_EXTRA_LANGUAGES",
        "Comma-separated codes the language decision may also recognise (answers fall back to a KB language).",
    )
    default_language: str = _setting("en", "ANSWERDESK_DEFAULT_LANGUAGE", "Language used when nothing else tells.")
    lang_backend: str = _setting("lingua", "ANSWERDESK_LANG_BACKEND", "Language detector: 'lingua' (measured best, bench/language.py) or 'langdetect'.")
    language_centring: bool = _setting(
        True, "ANSWERDESK_LANGUAGE_CENTRING",
        "Reindex with each language's centre taken off the vectors, learnt from the store's recent customer messages (at least two languages of 10 messages each); false: never.",
    )
    answer_threshold: float | None = _setting(
        None, "ANSWERDESK_ANSWER_THRESHOLD", "Override the calibrated score above which the bot answers outright."
    )
    handoff_threshold: float | None = _setting(
        None, "ANSWERDESK_HANDOFF_THRESHOLD", "Override the calibrated score below which the bot hands off."
    )
    clarify_margin: float | None = _setting(
        None, "ANSWERDESK_CLARIFY_MARGIN", "Override the score gap under which close candidates are offered as choices."
    )
    db: str = _setting(
        "sqlite:///var/answerdesk.db",
        "ANSWERDESK_DB",
        "Conversation store: sqlite:///relative.db, sqlite:////absolute.db, a file path, or postgresql://user:password@host/db.",
    )
    db_busy_timeout: float = _setting(5.0, "ANSWERDESK_DB_BUSY_TIMEOUT", "Seconds a write waits for another writer's lock before failing.")
    sqlite_synchronous: str = _setting(
        "full", "ANSWERDESK_SQLITE_SYNCHRONOUS",
        "SQLite only: full (a committed message survives a power cut) or normal (survives a crash of the process; a power cut may lose the last seconds). See README \"Durability\".",
    )
    hours: str = _setting(
        "24/7",
        "ANSWERDESK_HOURS",
        "When agents answer, in ANSWERDESK_TIMEZONE: 'mon-fri 09:00-18:00; sat 10:00-14:00' or '24/7'.",
    )
    timezone: str = _setting("UTC", "ANSWERDESK_TIMEZONE", "IANA time zone of the hours and holidays, e.g. Europe/Istanbul.")
    holidays: str = _setting("", "ANSWERDESK_HOLIDAYS", "Comma-separated local dates the team is closed: 2026-12-25,2027-01-01.")
    agent_wait_seconds: int = _setting(
        180, "ANSWERDESK_AGENT_WAIT_SECONDS", "How long a handoff waits for an available agent before it is marked missed and the customer is asked for an e-mail address."
    )
    presence_seconds: int = _setting(
        300, "ANSWERDESK_PRESENCE_SECONDS",
        "An agent is available while their last activity (a console page or its live queue, a take or reply in the Slack agents' channel) is this recent.",
    )
    suggestion_days: int = _setting(
        90, "ANSWERDESK_SUGGESTION_DAYS",
        "How far back the conversations go that suggestions for the KB are worked out from (the console's 'Improve the help center', 'answerdesk suggestions').",
    )
    agent_names: str = _setting(
        "full", "ANSWERDESK_AGENT_NAMES",
        "The name customers see on an agent's messages, on every channel: full (as added), first (the first name only) or team (the team's, no personal name).",
    )
    secret_key: str = _setting(
        "",
        "ANSWERDESK_SECRET_KEY",
        "Signs the agent console's session cookies and the links back to the chat in answer e-mails; set it so sign-ins survive restarts and work across workers, and so e-mails carry a link (empty: random per process, no link).",
    )
    public_url: str = _setting(
        "",
        "ANSWERDESK_PUBLIC_URL",
        "Public address of the help center (https://help.example.com): Slack and Telegram answers link to the full article "
        "there; empty: they name the article without a link.",
    )
    smtp_host: str = _setting(
        "", "ANSWERDESK_SMTP_HOST",
        "Mail server that sends customers an agent's reply by e-mail when their handoff found nobody (smtp.example.com); empty: e-mail is off.",
    )
    smtp_port: int = _setting(587, "ANSWERDESK_SMTP_PORT", "Port of the mail server: 587 with starttls, 465 with ssl, 25 with none.")
    smtp_security: str = _setting(
        "starttls", "ANSWERDESK_SMTP_SECURITY",
        "How the connection to the mail server is encrypted: starttls (upgrade a plain connection), ssl (TLS from the start) or none (unencrypted: a relay on this machine or a trusted network).",
    )
    smtp_user: str = _setting("", "ANSWERDESK_SMTP_USER", "User name to sign in to the mail server with; empty: send without signing in.")
    smtp_password: str = _setting("", "ANSWERDESK_SMTP_PASSWORD", "Password of ANSWERDESK_SMTP_USER.")
    mail_from: str = _setting(
        "", "ANSWERDESK_MAIL_FROM", "Sender of the e-mails, an address or 'Name <address>': help@example.com; required with ANSWERDESK_SMTP_HOST."
    )
    slack_bot_token: str = _setting("", "SLACK_BOT_TOKEN", "Slack bot token (xoxb-…); with the signing secret it turns the Slack channel on.")
    slack_signing_secret: str = _setting("", "SLACK_SIGNING_SECRET", "Slack signing secret, to verify requests to /slack/events.")
    slack_agents_channel: str = _setting("", "SLACK_AGENTS_CHANNEL", "Id (C0…) of the Slack channel where handoffs from every channel appear as cards.")
    slack_api_url: str = _setting("https://slack.com/api/", "SLACK_API_URL", "Slack Web API base URL (a proxy, or a local fake in tests).")
    slack_socket_mode: bool = _setting(False, "SLACK_SOCKET_MODE", "Use Socket Mode instead of HTTP events (needs SLACK_APP_TOKEN).")
    slack_app_token: str = _setting("", "SLACK_APP_TOKEN", "Slack app-level token (xapp-…) for Socket Mode.")
    telegram_bot_token: str = _setting("", "TELEGRAM_BOT_TOKEN", "Telegram bot token from @BotFather (123456:ABC-…); it turns the Telegram channel on.")
    telegram_webhook_secret: str = _setting(
        "", "TELEGRAM_WEBHOOK_SECRET", "Secret Telegram sends back in X-Telegram-Bot-Api-Secret-Token; /telegram/webhook refuses requests without it (403)."
    )
    telegram_api_url: str = _setting(
        "https://api.telegram.org/bot", "TELEGRAM_API_URL", "Telegram Bot API base URL; the token is appended (a local Bot API server, or a fake in tests)."
    )
    workers: int = _setting(
        1, "ANSWERDESK_WORKERS", "Processes of `answerdesk serve`: 1 serves in one process (uvicorn); 2 or more run gunicorn with that many uvicorn workers."
    )
    web_threads: int = _setting(
        48, "ANSWERDESK_WEB_THREADS", "Request threads per serving process: Flask runs a request on one once it has fully arrived; live-update streams hold none."
    )
    web_connections: int = _setting(
        10000, "ANSWERDESK_WEB_CONNECTIONS",
        "Open connections (open chats' live streams included) one serving process holds; past it, new requests get 503 at once. Needs as many open files (ulimit -n).",
    )
    web_idle_seconds: int = _setting(
        30, "ANSWERDESK_WEB_IDLE_SECONDS",
        "A request must arrive whole within this many seconds of its first byte (or of the connection opening), else the connection is closed: a half-sent request holds a socket that long, never a thread.",
    )
    trusted_proxies: int = _setting(
        0, "ANSWERDESK_TRUSTED_PROXIES",
        "Reverse proxies in front of the server whose X-Forwarded-For and X-Forwarded-Proto are believed (1: one nginx or load "
        "balancer); then console cookies are Secure when the visitor used HTTPS. 0: those headers are ignored.",
    )
    ann_min_vectors: int = _setting(
        20000, "ANSWERDESK_ANN_MIN_VECTORS", "Vectors from which the index is approximate (HNSW) instead of exact."
    )
    # Rate limits (channels/web/limits.py): "<n>/<second|minute|hour|day>", several joined by ";"; "0" turns one off.
    limit_messages_per_visitor: str = _setting(
        "20/minute", "ANSWERDESK_LIMIT_MESSAGES_PER_VISITOR",
        "Widget messages, choices, ratings and requests for a person one visitor may send; past it, 429 with Retry-After. 0: no limit.",
    )
    limit_messages_per_ip: str = _setting(
        "300/minute", "ANSWERDESK_LIMIT_MESSAGES_PER_IP", "The same, from one client address (many visitors behind one office's NAT). 0: no limit."
    )
    limit_conversations_per_visitor: str = _setting(
        "10/hour", "ANSWERDESK_LIMIT_CONVERSATIONS_PER_VISITOR", "New widget conversations one visitor may open. 0: no limit."
    )
    limit_conversations_per_ip: str = _setting(
        "60/minute", "ANSWERDESK_LIMIT_CONVERSATIONS_PER_IP",
        "New widget conversations from one client address (a client without a visitor cookie is a new visitor each time). 0: no limit.",
    )
    limit_streams_per_visitor: str = _setting(
        "30/minute", "ANSWERDESK_LIMIT_STREAMS_PER_VISITOR", "Live-update streams one visitor may open (each lasts up to a minute, then reconnects). 0: no limit."
    )
    limit_streams_per_ip: str = _setting(
        "600/minute", "ANSWERDESK_LIMIT_STREAMS_PER_IP", "Live-update streams one client address may open. 0: no limit."
    )
    open_streams_per_visitor: int = _setting(
        4, "ANSWERDESK_OPEN_STREAMS_PER_VISITOR", "Live-update streams one visitor may hold open at once, per serving process; one more is 429. 0: no cap."
    )
    open_streams_per_ip: int = _setting(
        40, "ANSWERDESK_OPEN_STREAMS_PER_IP", "Live-update streams one client address may hold open at once, per serving process. 0: no cap."
    )
    limit_sign_in_per_account: str = _setting(
        "10/minute", "ANSWERDESK_LIMIT_SIGN_IN_PER_ACCOUNT", "Console sign-in attempts for one e-mail address. 0: no limit."
    )
    limit_sign_in_per_ip: str = _setting(
        "10/minute", "ANSWERDESK_LIMIT_SIGN_IN_PER_IP", "Console sign-in attempts from one client address. 0: no limit."
    )
    sign_in_backoff_after: int = _setting(
        5, "ANSWERDESK_SIGN_IN_BACKOFF_AFTER",
        "Wrong passwords in a row for one account after which each further attempt waits 2, 4, 8… seconds (forgotten an hour after the last). 0: no backoff.",
    )
    sign_in_backoff_after_per_ip: int = _setting(
        20, "ANSWERDESK_SIGN_IN_BACKOFF_AFTER_PER_IP", "The same backoff for failed sign-ins from one client address, to any account. 0: no backoff."
    )
    sign_in_backoff_max_seconds: int = _setting(
        300, "ANSWERDESK_SIGN_IN_BACKOFF_MAX_SECONDS", "The longest sign-in backoff wait, in seconds."
    )

    def __post_init__(self) -> None:
        if self.web_idle_seconds < 2:
            raise ConfigError("ANSWERDESK_WEB_IDLE_SECONDS", self.web_idle_seconds, "Use 2 or more: a request over a slow link needs a moment to arrive.")
        if self.sqlite_synchronous not in ("full", "normal"):
            raise ConfigError("ANSWERDESK_SQLITE_SYNCHRONOUS", self.sqlite_synchronous, "Use full or normal.")
        if self.agent_names not in AGENT_NAMES:
            raise ConfigError("ANSWERDESK_AGENT_NAMES", self.agent_names, f"Use one of {', '.join(AGENT_NAMES)}.")
        if self.public_url and not _URL.fullmatch(self.public_url):
            raise ConfigError("ANSWERDESK_PUBLIC_URL", self.public_url, "Use an http:// or https:// address, e.g. https://help.example.com.")
        if self.trusted_proxies < 0:
            raise ConfigError("ANSWERDESK_TRUSTED_PROXIES", self.trusted_proxies, "Use 0 (no proxy) or the number of proxies in front of the server, e.g. 1.")
        self._check_mail()
        self._check_limits()

    def _check_limits(self) -> None:
        for f in fields(self):
            if f.name.startswith("limit_"):
                rate = getattr(self, f.name)
                if rate_limits(rate) is None:
                    raise ConfigError(f.metadata["env"], rate, "Use '<n>/<second|minute|hour|day>' (several joined by ';'), e.g. 20/minute, or 0 for no limit.")
            elif f.name.startswith(("open_streams_", "sign_in_backoff_")) and getattr(self, f.name) < 0:
                raise ConfigError(f.metadata["env"], getattr(self, f.name), "Use 0 (off) or a positive number.")

    def _check_mail(self) -> None:
        if self.smtp_security not in SMTP_SECURITY:
            raise ConfigError("ANSWERDESK_SMTP_SECURITY", self.smtp_security, f"Use one of {', '.join(SMTP_SECURITY)}.")
        if not 0 < self.smtp_port < 65536:
            raise ConfigError("ANSWERDESK_SMTP_PORT", self.smtp_port, "Use a port from 1 to 65535: 587 (starttls), 465 (ssl) or 25.")
        if self.smtp_password and not self.smtp_user:
            raise ConfigError("ANSWERDESK_SMTP_USER", self.smtp_user, "Set it too: ANSWERDESK_SMTP_PASSWORD is the password of this user.")
        if not self.smtp_host:
            return
        if not self.mail_from:
            raise ConfigError("ANSWERDESK_MAIL_FROM", self.mail_from, "Set the sender's address (help@example.com): ANSWERDESK_SMTP_HOST turns e-mail on.")
        address = parseaddr(self.mail_from)[1]
        if not _ADDRESS.fullmatch(address):
            raise ConfigError("ANSWERDESK_MAIL_FROM", self.mail_from, "Use an e-mail address, or 'Name <address>': help@example.com.")

    @property
    def mail_enabled(self) -> bool:
        """Whether agents' replies to missed handoffs are e-mailed (ANSWERDESK_SMTP_HOST is set)."""
        return bool(self.smtp_host)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read every setting from the environment, then the TOML file, then defaults."""
        env = os.environ if environ is None else environ
        file_values: dict[str, Any] = {}
        path = env.get("ANSWERDESK_CONFIG")
        if path:
            try:
                file_values = tomllib.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as e:
                raise ConfigError("ANSWERDESK_CONFIG", path, f"Cannot read it as TOML: {e}") from e
            known = {f.name for f in fields(cls)}
            unknown = sorted(set(file_values) - known)
            if unknown:
                raise ConfigError(unknown[0], file_values[unknown[0]], f"Unknown setting in {path}; known: {', '.join(sorted(known))}.")
        values: dict[str, Any] = {}
        for f in fields(cls):
            var = f.metadata["env"]
            if var in env:
                values[f.name] = _parse(var, env[var], f.type)
            elif f.name in file_values:
                values[f.name] = _parse(f.name, file_values[f.name], f.type)
        return cls(**values)

    def with_overrides(self, **changes: Any) -> "Settings":
        """A copy with some fields replaced (command-line flags)."""
        kept = {k: v for k, v in changes.items() if v is not None}
        return type(self)(**{**{f.name: getattr(self, f.name) for f in fields(self)}, **kept})

    def language_list(self, name: str) -> tuple[str, ...]:
        """One of the comma-separated language settings as a tuple of codes."""
        raw = getattr(self, name)
        return tuple(code.strip().lower() for code in raw.split(",") if code.strip())


def rate_limits(rate: str) -> list[RateLimitItem] | None:
    """The limits in a rate setting ("20/minute;300/hour"); [] for "0" or empty (off), None when unreadable."""
    if rate.strip() in ("", "0"):
        return []
    try:
        return parse_many(rate)
    except ValueError:
        return None


def _parse(name: str, raw: Any, kind: Any) -> Any:
    kind = str(kind)
    if raw is None or (isinstance(raw, str) and raw.strip() == "" and "None" in kind):
        return None
    try:
        if kind.startswith("bool"):
            if isinstance(raw, bool):
                return raw
            lowered = str(raw).strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off", ""):
                return False
            raise ValueError
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
    except (TypeError, ValueError) as e:
        expected = kind.split(" ")[0]
        raise ConfigError(name, raw, f"Not a valid {expected}.") from e
    return str(raw)


def describe_settings() -> list[tuple[str, str, str]]:
    """(environment variable, default, help) for every setting, for docs and `--help`."""
    return [(f.metadata["env"], repr(f.default), f.metadata["help"]) for f in fields(Settings)]
