"""Business hours: a weekly schedule in a time zone, minus holidays, and when the team is back.

Spec format (ANSWERDESK_HOURS): `"mon-fri 09:00-18:00; sat 10:00-14:00"`. Days are mon..sun,
as ranges (`mon-fri`, `fri-mon` wraps) or lists (`mon,wed`); a day may have several intervals
(`mon 09:00-12:00,13:00-18:00`); an interval may end at `24:00`; `24/7` means always open.
Intervals are local wall-clock times, so opening stays at 09:00 across a DST change.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError

HOURS_SETTING = "ANSWERDESK_HOURS"
TIMEZONE_SETTING = "ANSWERDESK_TIMEZONE"
HOLIDAYS_SETTING = "ANSWERDESK_HOLIDAYS"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
END_OF_DAY = time.max  # how an interval ending at 24:00 is kept: `time` stops at 23:59:59.999999

_HOURS_EXAMPLE = "e.g. 'mon-fri 09:00-18:00; sat 10:00-14:00', 'mon 09:00-12:00,13:00-18:00' or '24/7'"
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

Interval = tuple[time, time]


@dataclass(frozen=True)
class BusinessHours:
    tz: str  # IANA name, e.g. "Europe/Istanbul"
    weekly: Mapping[int, tuple[Interval, ...]]  # weekday 0=Mon -> open intervals (local), sorted
    holidays: frozenset[date]  # local dates closed all day

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)  # ZoneInfo caches instances by key

    def is_open(self, at: datetime) -> bool:
        """Whether the team works at the moment `at` (timezone-aware)."""
        local = _aware(at).astimezone(self.zone)
        if local.date() in self.holidays:
            return False
        now = local.time().replace(tzinfo=None)
        return any(start <= now and (now < end or end == END_OF_DAY) for start, end in self.weekly.get(local.weekday(), ()))

    def next_open(self, at: datetime) -> datetime | None:
        """The first moment at or after `at` when the team works (aware, in tz); None if never."""
        local = _aware(at).astimezone(self.zone)
        if self.is_open(local):
            return local
        if not any(self.weekly.values()):
            return None
        # Each holiday closes at most one day, so this many days always reach an open interval.
        for offset in range(7 * (len(self.holidays) + 2)):
            day = local.date() + timedelta(days=offset)
            if day in self.holidays:
                continue
            for start, end in self.weekly.get(day.weekday(), ()):
                opening, closing = self._moment(day, start), self._moment(day, end)
                # opening == closing when a spring-forward jump swallows the whole interval.
                if opening < closing and opening >= local:
                    return opening
        return None

    def _moment(self, day: date, wall: time) -> datetime:
        """The first instant on `day` whose local wall time is at or after `wall`."""
        if wall == END_OF_DAY:
            return self._moment(day + timedelta(days=1), time(0))
        zone = self.zone
        naive = datetime.combine(day, wall)
        # Through UTC: astimezone() to the datetime's own zone would return it unchanged.
        moment = naive.replace(tzinfo=zone).astimezone(timezone.utc).astimezone(zone)
        if moment.replace(tzinfo=None) == naive:
            return moment  # exists (fold 0 picks the first of two when the clock falls back)
        # `wall` is skipped by a spring-forward jump: the opening is the jump itself. It lies
        # between the two readings of `wall` (before- and after-jump offsets); bisect to it.
        low = naive.replace(tzinfo=zone, fold=1).astimezone(timezone.utc)
        high = moment.astimezone(timezone.utc)
        while high - low > timedelta(microseconds=1):
            middle = low + (high - low) / 2
            if middle.astimezone(zone).replace(tzinfo=None) >= naive:
                high = middle
            else:
                low = middle
        return high.astimezone(zone)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be timezone-aware; use datetime.now(timezone.utc)")
    return at


def parse_hours(spec: str, tz: str, holidays: str) -> BusinessHours:
    """Business hours from the ANSWERDESK_HOURS, ANSWERDESK_TIMEZONE and ANSWERDESK_HOLIDAYS settings."""
    try:
        ZoneInfo(tz.strip())
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ConfigError(
            TIMEZONE_SETTING, tz, "Not an IANA time zone name; use e.g. 'Europe/Istanbul', 'America/Mexico_City' or 'UTC'."
        ) from e
    return BusinessHours(tz=tz.strip(), weekly=_parse_weekly(spec), holidays=_parse_holidays(holidays))


def _hours_error(spec: str, problem: str) -> ConfigError:
    return ConfigError(HOURS_SETTING, spec, f"{problem}; {_HOURS_EXAMPLE}.")


def _parse_weekly(spec: str) -> dict[int, tuple[Interval, ...]]:
    parts = [part.strip() for part in spec.lower().split(";") if part.strip()]
    if not parts:
        raise _hours_error(spec, "No opening hours given")
    if "24/7" in parts:
        if len(parts) > 1:
            raise _hours_error(spec, "'24/7' already means always open; give it alone")
        return {day: ((time(0), END_OF_DAY),) for day in range(7)}
    weekly: dict[int, list[Interval]] = {}
    for part in parts:
        digit = re.search(r"\d", part)
        if digit is None or digit.start() == 0:
            raise _hours_error(spec, f"'{part}' needs days then times, like 'mon-fri 09:00-18:00'")
        days = _parse_days(spec, re.sub(r"\s+", "", part[: digit.start()]))
        intervals = [_parse_interval(spec, item) for item in re.sub(r"\s+", "", part[digit.start():]).split(",")]
        for day in days:
            weekly.setdefault(day, []).extend(intervals)
    return {day: _merge(intervals) for day, intervals in weekly.items()}


def _parse_days(spec: str, text: str) -> list[int]:
    found: list[int] = []
    for item in text.split(","):
        ends = item.split("-")
        for name in ends:
            if name not in DAYS:
                raise _hours_error(spec, f"'{name or item}' is not a day; days are {' '.join(DAYS)}")
        if len(ends) == 1:
            found.append(DAYS.index(ends[0]))
        elif len(ends) == 2:
            first, last = DAYS.index(ends[0]), DAYS.index(ends[1])
            found += [(first + step) % 7 for step in range((last - first) % 7 + 1)]
        else:
            raise _hours_error(spec, f"'{item}' is not a day range; write it as 'mon-fri'")
    return found


def _parse_interval(spec: str, text: str) -> Interval:
    ends = text.split("-")
    if len(ends) != 2:
        raise _hours_error(spec, f"'{text}' is not an interval; write it as '09:00-18:00'")
    start, end = (_parse_clock(spec, text, end) for end in ends)
    if start == END_OF_DAY:
        raise _hours_error(spec, f"'{text}' starts at 24:00; start at 00:00 of the next day")
    if end <= start:
        raise _hours_error(
            spec, f"'{text}' ends before it starts; split a night shift at midnight, like 'mon 22:00-24:00; tue 00:00-02:00'"
        )
    return start, end


def _parse_clock(spec: str, interval: str, text: str) -> time:
    match = _CLOCK.fullmatch(text)
    if match is None:
        raise _hours_error(spec, f"'{text}' in '{interval}' is not a time; write HH:MM, like 09:00")
    hour, minute = int(match.group(1)), int(match.group(2))
    if (hour, minute) == (24, 0):
        return END_OF_DAY
    if hour > 23 or minute > 59:
        raise _hours_error(spec, f"'{text}' in '{interval}' is not a time of day; use 00:00 to 24:00")
    return time(hour, minute)


def _merge(intervals: list[Interval]) -> tuple[Interval, ...]:
    """Sorted, with overlapping or touching intervals joined."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def _parse_holidays(text: str) -> frozenset[date]:
    days: set[date] = set()
    for item in (piece.strip() for piece in text.split(",")):
        if not item:
            continue
        try:
            if not _ISO_DATE.fullmatch(item):
                raise ValueError(item)
            days.add(date.fromisoformat(item))
        except ValueError as e:
            raise ConfigError(
                HOLIDAYS_SETTING, text, f"'{item}' is not a date; give ISO dates separated by commas, e.g. '2026-12-25,2027-01-01'."
            ) from e
    return frozenset(days)


# -- "We're back tomorrow at 09:00 (CET)."

_PHRASE_KEYS = ("now", "unknown", "at", "today", "tomorrow", "weekday", "date")


@lru_cache(maxsize=1)
def _phrase_tables() -> dict[str, dict[str, Any]]:
    """bot/phrases/hours.toml: one table of phrases, weekday and month names per language."""
    path = "bot/phrases/hours.toml"
    try:
        data = tomllib.loads(resources.files("bot").joinpath("phrases", "hours.toml").read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: {e}; fix the TOML syntax") from e
    for lang, table in data.items():
        missing = [key for key in (*_PHRASE_KEYS, "weekdays", "months") if key not in table]
        if missing:
            raise ValueError(f"{path}: [{lang}] lacks {', '.join(missing)}; copy them from [en]")
        if len(table["weekdays"]) != 7 or len(table["months"]) != 12:
            raise ValueError(f"{path}: [{lang}] needs 7 weekdays (Monday first) and 12 months")
    return data


def hours_languages() -> frozenset[str]:
    """The languages describe_next_open speaks; others get English."""
    return frozenset(_phrase_tables())


def describe_next_open(hours: BusinessHours, at: datetime, lang: str) -> str:
    """When the team is back, in words: "tomorrow at 09:00 (CET)", in `lang` or English."""
    tables = _phrase_tables()
    words = tables.get(lang.strip().lower().replace("_", "-").split("-")[0]) or tables["en"]
    back = hours.next_open(at)
    if back is None:
        return str(words["unknown"])
    today = _aware(at).astimezone(hours.zone).date()
    if back == _aware(at):
        return str(words["now"])
    clock = back.strftime("%H:%M")
    # An hour of 1 is singular in some languages: Spanish "a la 01:00" but "a las 09:00".
    at_template = words.get("at_one", words["at"]) if back.hour == 1 else words["at"]
    at_phrase = at_template.format(time=clock, zone=_zone_label(back))
    days = (back.date() - today).days
    if days == 0:
        return str(words["today"].format(at=at_phrase))
    if days == 1:
        return str(words["tomorrow"].format(at=at_phrase))
    if days <= 6:
        return str(words["weekday"].format(weekday=words["weekdays"][back.weekday()], at=at_phrase))
    return str(words["date"].format(day=back.day, month=words["months"][back.month - 1], at=at_phrase))


def _zone_label(moment: datetime) -> str:
    """The zone's abbreviation ("CET"), or "UTC+3" where the zone has none (tz data says "+03")."""
    name = moment.tzname() or ""
    if name and name[0] not in "+-":
        return name
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    hours, rest = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
