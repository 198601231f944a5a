"""`answerdesk report`: the period from its flags, the rows from the store, the figures as text or HTML."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import Settings
from bot.errors import AnswerdeskError, ConfigError, StorageError
from bot.reports.changes import WEEKS, KBChange, changed_articles, kb_changes
from bot.reports.figures import CHANNELS, Report, build_report, load_period, outbox_pending
from bot.reports.gaps import collect_gap_questions, collect_person_questions, group_gaps, group_near_misses, settle_close_calls
from bot.reports.html import render_html
from bot.reports.served import NO_INDEX, ServedKB, load_served
from bot.reports.text import format_report
from bot.store.model import Store
from bot.store.connect import open_store
from bot.store.sql_suggestions import ACCEPTED, open_suggestion_decisions

if TYPE_CHECKING:
    from index.encoders import Encoder

DEFAULT_DAYS = 30
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class ReportError(AnswerdeskError):
    """A report option has a value that cannot be used; `flag` names it."""

    def __init__(self, flag: str, message: str) -> None:
        self.flag = flag
        super().__init__(message)


# -- dates ----------------------------------------------------------------------------


def parse_day(flag: str, value: str, tz: ZoneInfo) -> datetime:
    """Local midnight of a YYYY-MM-DD date given to `flag`; ReportError naming the flag otherwise."""
    text = value.strip()
    try:
        if not _DAY.fullmatch(text):
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError as e:
        raise ReportError(flag, f"{flag} {value!r} is not a date: use YYYY-MM-DD, e.g. {flag} 2026-11-01") from e
    return datetime.combine(day, time(0), tzinfo=tz)


def parse_period(since: str | None, until: str | None, tz: ZoneInfo, now: datetime) -> tuple[datetime, datetime | None]:
    """[since, until) from the command's flags: local midnights; since defaults to 30 days ago, until to open-ended.
    ReportError naming the flag for a value that is not a YYYY-MM-DD date, a --since in the future,
    or an --until not after --since."""
    default = datetime.combine(now.astimezone(tz).date() - timedelta(days=DEFAULT_DAYS), time(0), tzinfo=tz)
    start = parse_day("--since", since, tz) if since is not None else default
    end = parse_day("--until", until, tz) if until is not None else None
    if start >= now:
        raise ReportError("--since", f"--since {since} is in the future: give a past date, e.g. --since {default.date()}")
    if end is not None and end <= start:
        given = f"--since {start.date()}" if since is not None else f"the default --since, {start.date()} ({DEFAULT_DAYS} days ago)"
        raise ReportError("--until", f"--until {until} is not after {given}: --until is the day after the last one reported, e.g. --until {(start + timedelta(days=1)).date()}")
    return start, end


def report_zone(settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.timezone.strip())
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ConfigError("ANSWERDESK_TIMEZONE", settings.timezone, "Not an IANA time zone name; use e.g. 'Europe/Istanbul' or 'UTC'.") from e


# -- the command ----------------------------------------------------------------------


def make_report(
    store: Store,
    since: datetime,
    until: datetime | None,
    *,
    load_encoder: Callable[[], "Encoder"],
    tz: ZoneInfo,
    now: datetime,
    channel: str | None = None,
    served: ServedKB = NO_INDEX,
) -> Report:
    """Read the period from the store; split what the KB missed into near-misses (grouped by
    article) and true gaps (grouped by meaning, as are the requests for a person; the encoder is
    loaded only if there are any), and add up."""
    period = load_period(store, since, until, channel)
    questions = collect_gap_questions(period.conversations, period.messages, period.feedback, handoff=served.handoff)
    person = collect_person_questions(period.conversations, period.messages)
    encoder = load_encoder() if questions or person else None
    if encoder is not None:
        questions = settle_close_calls(questions, encoder)
    near = [q for q in questions if q.near is not None]
    gaps = [q for q in questions if q.near is None]
    return build_report(
        period,
        group_gaps(gaps, encoder, title=served.title) if encoder is not None and gaps else [],
        gaps,
        tz=tz,
        now=now,
        channel=channel,
        pending=lambda name: outbox_pending(store, name),
        near_misses=group_near_misses(near, title=served.title),
        person=group_gaps(person, encoder) if encoder is not None and person else [],
        handoff_threshold=served.handoff,
        threshold_source=served.source,
        changes=load_changes(store, since, until or now, now),
    )


def load_changes(store: Store, since: datetime, until: datetime, now: datetime) -> list[KBChange]:
    """The report's "KB changes": articles changed by suggestions accepted in the period, with the
    questions near them WEEKS before and after (read from the store for those weeks)."""
    try:
        decisions = open_suggestion_decisions(store).all(ACCEPTED)
    except StorageError:  # a store that keeps no decisions (a test fake)
        return []
    changed = changed_articles(decisions, since, until)
    if not changed:
        return []
    first = min(at for at, _ in changed.values()) - timedelta(weeks=WEEKS)
    return kb_changes(decisions, store.list_messages_since(first), store.list_feedback(since=first), since, until, now)


def check_channel(store: Store, channel: str | None) -> None:
    """ReportError for a --channel that is none of ours and has no conversation in the store (a typo
    would otherwise print a column of zeros)."""
    if channel is None or channel in CHANNELS or store.list_conversations(channel=channel):
        return
    raise ReportError("--channel", f"--channel {channel!r} is not a channel: use {', '.join(CHANNELS)} (or one that has conversations)")


def run_report(
    settings: Settings,
    since: str | None = None,
    until: str | None = None,
    channel: str | None = None,
    html: str | None = None,
    out: TextIO = sys.stdout,
    *,
    encoder: "Encoder | None" = None,
    now: datetime | None = None,
    served: ServedKB | None = None,
) -> int:
    """`answerdesk report`: print the figures and gaps of [since, until); with `html`, also write the page.
    `served`: titles and the handoff threshold, else read from the served index (`load_served`)."""
    tz = report_zone(settings)
    now = now or datetime.now(timezone.utc)
    start, end = parse_period(since, until, tz, now)
    store = open_store(settings.db, busy_timeout=settings.db_busy_timeout, synchronous=settings.sqlite_synchronous)
    try:
        check_channel(store, channel)
        kb = served or load_served(settings)
        report = make_report(
            store, start, end, load_encoder=lambda: encoder or _gap_encoder(settings.encoder), tz=tz, now=now, channel=channel, served=kb,
        )
    finally:
        store.close()
    out.write(format_report(report))
    if html:
        try:
            Path(html).write_text(render_html(report), encoding="utf-8")
        except OSError as e:
            raise ReportError("--html", f"--html {html}: cannot write it: {e}; check the folder exists and is writable") from e
        out.write(f"\nHTML report written to {html}\n")
    return 0


def _gap_encoder(spec: str) -> "Encoder":
    """The encoder gaps are grouped with: USE when the ensemble has it (the grouping distance
    was set on its similarities), else the ensemble's first."""
    from index.encoders import make_encoder

    names = [name.strip() for name in spec.split("+")]
    return make_encoder("use" if "use" in names else names[0], threads=1)
