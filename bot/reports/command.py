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
from bot.errors import AnswerdeskError, ConfigError
from bot.reports.figures import CHANNELS, Report, build_report, load_period, outbox_pending
from bot.reports.gaps import collect_gap_questions, group_gaps
from bot.reports.html import render_html
from bot.reports.text import format_report
from bot.store.model import Store
from bot.store.connect import open_store

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
    """[since, until) from the command's flags: local midnights; since defaults to 30 days ago, until to open-ended."""
    start = parse_day("--since", since, tz) if since else datetime.combine(now.astimezone(tz).date() - timedelta(days=DEFAULT_DAYS), time(0), tzinfo=tz)
    end = parse_day("--until", until, tz) if until else None
    if end is not None and end <= start:
        raise ReportError("--until", f"--until {until} is not after --since {start.date()}: --until is the day after the last one reported")
    if end is None and start >= now:
        raise ReportError("--since", f"--since {since} is in the future: give a past date, e.g. --since {(now - timedelta(days=DEFAULT_DAYS)).date()}")
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
) -> Report:
    """Read the period from the store, group its gaps (loading the encoder only if there are any) and add up."""
    period = load_period(store, since, until, channel)
    questions = collect_gap_questions(period.conversations, period.messages, period.feedback)
    groups = group_gaps(questions, load_encoder()) if questions else []
    return build_report(period, groups, questions, tz=tz, now=now, channel=channel, pending=lambda name: outbox_pending(store, name))


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
) -> int:
    """`answerdesk report`: print the figures and gaps of [since, until); with `html`, also write the page."""
    tz = report_zone(settings)
    now = now or datetime.now(timezone.utc)
    start, end = parse_period(since, until, tz, now)
    store = open_store(settings.db, busy_timeout=settings.db_busy_timeout)
    try:
        check_channel(store, channel)
        report = make_report(store, start, end, load_encoder=lambda: encoder or _gap_encoder(settings.encoder), tz=tz, now=now, channel=channel)
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
