"""Agent accounts: creating them with a scrypt-hashed password, and checking a password.

A hash is one string holding its parameters, so they can be raised later without breaking
old accounts: `scrypt$<n>$<r>$<p>$<salt, base64>$<key, base64>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence

from bot.errors import AnswerdeskError
from bot.store.model import Agent, Store

MIN_PASSWORD_LENGTH = 8
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # OWASP's scrypt minimum (about 16 MiB, 50 ms)
MAX_SCRYPT_N = 2**20  # refuse stored parameters that would eat the server's memory
KEY_BYTES, SALT_BYTES = 32, 16
_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")


class AgentError(AnswerdeskError, ValueError):
    """An agent account cannot be created with this value; `field` names the argument."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """A salted scrypt hash of `password`, with its parameters, as one string."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, n, r, p)
    return "$".join(["scrypt", str(n), str(r), str(p), _b64(salt), _b64(key)])


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether `password` matches `stored_hash` (compared in constant time); False if the hash is malformed."""
    try:
        scheme, n, r, p, salt, key = stored_hash.split("$")
        n_, r_, p_ = int(n), int(r), int(p)
        expected = base64.b64decode(key, validate=True)
        salt_bytes = base64.b64decode(salt, validate=True)
    except (ValueError, AttributeError):
        return False
    if scheme != "scrypt" or not (1 < n_ <= MAX_SCRYPT_N and 0 < r_ <= 32 and 0 < p_ <= 16) or not expected:
        return False
    try:
        actual = _scrypt(password, salt_bytes, n_, r_, p_, len(expected))
    except ValueError:  # parameters OpenSSL refuses
        return False
    return hmac.compare_digest(actual, expected)


def create_agent(store: Store, email: str, name: str, password: str, languages: Sequence[str]) -> Agent:
    """Validate the account's fields, hash the password and store the agent."""
    address = check_new_address(store, email)
    if not (name or "").strip():
        raise AgentError("name", "must not be empty; it is the name customers see when the agent joins")
    check_password(password)
    codes = language_codes(languages)
    removed = store.get_agent_by_email(address)
    if removed is not None:  # check_new_address let it through: a removed account comes back
        restored = store.restore_agent(removed.id, name.strip(), hash_password(password), codes)
        assert restored is not None
        return restored
    return store.add_agent(name.strip(), address, hash_password(password), codes)


def check_new_address(store: Store, email: str) -> str:
    """The address of a new account, stripped: AgentError when it is none, or has an account already."""
    address = (email or "").strip()
    if not _EMAIL.match(address):
        raise AgentError("email", f"{email!r} is not an e-mail address; use the form name@example.com")
    existing = store.get_agent_by_email(address)
    if existing is not None and existing.removed_at is None:
        raise AgentError(
            "email", f"{address} already has an account; change it with 'answerdesk agent reset-password {address}' "
            f"or 'answerdesk agent set-languages {address} en,tr'"
        )
    return address


def find_agent(store: Store, email: str) -> Agent:
    """The agent with this address (any case): AgentError naming the address when there is none."""
    agent = store.get_agent_by_email(email or "")
    if agent is None:
        raise AgentError("email", f"no agent has the address {email!r}; see 'answerdesk agent list'")
    if agent.removed_at is not None:
        raise AgentError("email", f"{agent.email} was removed; bring it back with 'answerdesk agent add {agent.email} --name NAME'")
    return agent


def remove_agent(store: Store, email: str) -> tuple[Agent, list[str]]:
    """Remove an agent: they can no longer sign in or take conversations, are not available, and
    every console session of theirs ends (the store adds one to their session generation).
    The account's row stays, so past messages and reports still name them. Conversations they
    had go back to the queue as missed (nobody is lost); returns the agent and those ids."""
    agent = find_agent(store, email)
    removed = store.remove_agent(agent.id)
    if removed is None:
        raise AgentError("email", f"the agent {email} was removed meanwhile")
    returned = [c.id for c in store.list_conversations(state="agent", agent=agent.id) if store.transition(c.id, ("agent",), "missed")]
    return removed, returned


def check_password(password: str) -> None:
    """AgentError naming the rule a password breaks (asked before it is typed a second time)."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AgentError("password", f"must be at least {MIN_PASSWORD_LENGTH} characters long")


def language_codes(languages: Sequence[str]) -> list[str]:
    """The ISO 639-1 codes an agent speaks, checked: AgentError naming the bad ones."""
    if isinstance(languages, str):
        raise AgentError("languages", "pass a list of codes such as ['en', 'tr'], not one string")
    codes = [code.strip().lower() for code in languages if code.strip()]
    bad = [code for code in codes if not _LANGUAGE.match(code)]
    if not codes or bad:
        raise AgentError("languages", f"{', '.join(bad) or 'none given'}: give ISO 639-1 codes such as en,tr,ar")
    return codes


def reset_password(store: Store, email: str, password: str) -> Agent:
    """A new password for the agent with this address; every console session of theirs ends."""
    check_password(password)
    return _update(store, email, password_hash=hash_password(password), end_sessions=True)


def set_languages(store: Store, email: str, languages: Sequence[str]) -> Agent:
    """The languages the agent with this address speaks (their queue puts these first)."""
    return _update(store, email, languages=language_codes(languages))


def _update(store: Store, email: str, **changes: object) -> Agent:
    updated = store.update_agent(find_agent(store, email).id, **changes)  # type: ignore[arg-type]
    if updated is None:
        raise AgentError("email", f"the agent {email} was removed meanwhile")
    return updated


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int = KEY_BYTES) -> bytes:
    # maxmem: scrypt needs 128 * n * r bytes; OpenSSL's default cap (32 MiB) is too low past n=2**14.
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=256 * n * r + 2**20)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
