"""The KPI report: per-channel figures, one outcome per conversation, and the uncovered questions.

A conversation belongs to the period it started in (`created_at` in [since, until)); all of
its messages, feedback and tickets count with it, even those written after `until`, so every
figure of a conversation is counted in one report. The figures are pure functions of the
stored rows; `run_report` is the `answerdesk report` command around them.
"""

from __future__ import annotations

import re
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import Settings
from bot.decision import ANSWER, CLARIFY, HANDOFF, SMALLTALK
from bot.errors import AnswerdeskError, ConfigError
from bot.gaps import GapGroup, GapQuestion, collect_gap_questions, group_gaps
from bot.store import Conversation, Feedback, Message, State, Store, Ticket

if TYPE_CHECKING:
    from index.encoders import Encoder

CHANNELS = ("web", "slack", "telegram")  # always shown, in this order; others follow
ALL = "all"
DEFAULT_DAYS = 30

# Bot messages that hand the conversation to a person (bot/engine.py, bot/desk.py).
HANDOFF_REQUESTED = "handoff_requested"  # the "talk to a person" button
HANDOFF_AFTER_NO = "handoff_after_negative_feedback"
HANDOFF_ACTIONS = (HANDOFF, HANDOFF_REQUESTED, HANDOFF_AFTER_NO)
OUTSIDE_HOURS = "outside_hours"
NO_AGENT_AVAILABLE = "no_agent_available"

OUTCOMES = ("deflected", "agent", "ticket", "waiting", "abandoned", "unanswered", "smalltalk_only", "no_reply")
OUTCOME_HELP = {
    "deflected": "the bot answered and nobody asked for a person",
    "agent": "an agent replied",
    "ticket": "a ticket was created",
    "waiting": "handed off, still with the team (queued, or taken and not yet answered)",
    "abandoned": "handed off, but no agent reply and no ticket",
    "unanswered": "the bot offered choices, none was picked, no handoff",
    "smalltalk_only": "only greetings or thanks",
    "no_reply": "no customer message, or nothing was said back",
}
HANDOFF_REASONS = ("not_covered", "asked_for_person", "negative_feedback")

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class ReportError(AnswerdeskError):
    """A report option has a value that cannot be used; `flag` names it."""

    def __init__(self, flag: str, message: str) -> None:
        self.flag = flag
        super().__init__(message)


# -- one conversation -----------------------------------------------------------------


def classify_outcome(messages: Sequence[Message], tickets: int, state: State) -> str:
    """The one outcome of a conversation, from its messages (in order), its ticket count and state.

    The first rule that holds wins, so every conversation gets exactly one outcome and the
    shares add up to 100%:

      ticket          a ticket was created for it (the customer left an e-mail address)
      agent           an agent wrote at least one message
      waiting         it was handed off and is still with the team when the report runs:
                      state "waiting", or "agent" (taken, not yet answered)
      abandoned       it was handed off, but no agent wrote and no ticket was created
                      (nobody took it in time and no e-mail was left, offline and no e-mail,
                      or closed without a word)
      deflected       the bot answered with an article and never handed off
      unanswered      the bot offered choices ("did you mean") but never answered nor handed off
      smalltalk_only  the bot only answered greetings or thanks
      no_reply        none of the above: no customer message, or nothing was said back

    A handoff is a bot message with action `handoff` (the engine: not covered, or the customer
    asked for a person in words), `handoff_requested` (the button) or
    `handoff_after_negative_feedback` (a "no" on an answer).
    """
    actions = {m.action for m in messages if m.author == "bot"}
    if tickets > 0:
        return "ticket"
    if any(m.author == "agent" for m in messages):
        return "agent"
    handed_off = bool(actions & set(HANDOFF_ACTIONS))
    if handed_off and state in ("waiting", "agent"):
        return "waiting"
    if handed_off:
        return "abandoned"
    if ANSWER in actions:
        return "deflected"
    if CLARIFY in actions:
        return "unanswered"
    if SMALLTALK in actions:
        return "smalltalk_only"
    return "no_reply"


def handoff_reason(message: Message) -> str | None:
    """Why a bot message handed off: not_covered, asked_for_person or negative_feedback; None if it did not."""
    if message.author != "bot" or message.action not in HANDOFF_ACTIONS:
        return None
    if message.action == HANDOFF_AFTER_NO:
        return "negative_feedback"
    if message.action == HANDOFF_REQUESTED:
        return "asked_for_person"
    reason = (message.decision or {}).get("reason")
    return "asked_for_person" if reason == "asked_for_person" else "not_covered"


def queue_entries(messages: Sequence[Message]) -> list[Message]:
    """The handoff messages that put the conversation in the agents' queue.

    The desk moves a conversation to "waiting" at the moment it stores the handoff message,
    unless the team is offline, in which case the very next message is `outside_hours`.
    `Conversation.waiting_since` cannot be used instead: it is cleared once an agent takes it.
    """
    entries = []
    for i, m in enumerate(messages):
        if handoff_reason(m) is None:
            continue
        following = messages[i + 1] if i + 1 < len(messages) else None
        if following is None or following.action != OUTSIDE_HOURS:
            entries.append(m)
    return entries


def bot_first_response(messages: Sequence[Message]) -> float | None:
    """Seconds from the first customer message to the first bot message after it."""
    first = next((i for i, m in enumerate(messages) if m.author == "customer"), None)
    if first is None:
        return None
    reply = next((m for m in messages[first + 1 :] if m.author == "bot"), None)
    return None if reply is None else (reply.created_at - messages[first].created_at).total_seconds()


def agent_first_response(messages: Sequence[Message]) -> float | None:
    """Seconds from entering the queue (the first queued handoff) to the first agent message after it."""
    entries = queue_entries(messages)
    if not entries:
        return None
    reply = next((m for m in messages if m.author == "agent" and m.id > entries[0].id), None)
    return None if reply is None else (reply.created_at - entries[0].created_at).total_seconds()


@dataclass(frozen=True)
class ConversationFacts:
    """What the report needs to know about one conversation."""

    id: str
    channel: str
    created_at: datetime
    outcome: str
    customer_messages: int
    clarifications: int
    handoff_reasons: tuple[str, ...]  # one per handoff, in order
    outside_hours: int
    no_agent_in_time: int
    tickets: int
    bot_first_response: float | None
    agent_first_response: float | None


def conversation_facts(conversation: Conversation, messages: Sequence[Message], tickets: int) -> ConversationFacts:
    """Summarise one conversation from its messages (any order) and its number of tickets."""
    ordered = sorted(messages, key=lambda m: m.id)
    bot_actions = Counter(m.action for m in ordered if m.author == "bot")
    return ConversationFacts(
        id=conversation.id,
        channel=conversation.channel,
        created_at=conversation.created_at,
        outcome=classify_outcome(ordered, tickets, conversation.state),
        customer_messages=sum(1 for m in ordered if m.author == "customer"),
        clarifications=bot_actions[CLARIFY],
        handoff_reasons=tuple(r for r in map(handoff_reason, ordered) if r is not None),
        outside_hours=bot_actions[OUTSIDE_HOURS],
        no_agent_in_time=bot_actions[NO_AGENT_AVAILABLE],
        tickets=tickets,
        bot_first_response=bot_first_response(ordered),
        agent_first_response=agent_first_response(ordered),
    )


# -- a channel ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelFigures:
    channel: str  # a channel name, or "all"
    conversations: int
    customer_messages: int
    outcomes: Mapping[str, int]  # every name of OUTCOMES; the values add up to `conversations`
    clarifications: int  # "did you mean" replies
    handoffs: int  # handoff messages (a conversation handed back to the bot may hand off again)
    handoff_reasons: Mapping[str, int]
    outside_hours: int  # handoffs that met an offline team
    no_agent_in_time: int  # queued handoffs nobody took within ANSWERDESK_AGENT_WAIT_SECONDS
    tickets: int
    bot_first_response: float | None  # median seconds
    agent_first_response: float | None  # median seconds, over conversations an agent answered from the queue
    agent_responses: int  # how many conversations that median is over
    helpful_yes: int
    helpful_no: int
    csat: tuple[int, ...]  # every 1-5 rating
    outbox_pending: int | None = None  # replies not yet delivered; None until the store keeps an outbox

    @property
    def deflected(self) -> int:
        return self.outcomes["deflected"]

    @property
    def deflection_rate(self) -> float | None:
        """Deflected conversations over all conversations."""
        return ratio(self.deflected, self.conversations)

    @property
    def helpful_rate(self) -> float | None:
        return ratio(self.helpful_yes, self.helpful_yes + self.helpful_no)

    @property
    def csat_mean(self) -> float | None:
        return statistics.fmean(self.csat) if self.csat else None

    @property
    def csat_good_share(self) -> float | None:
        """Share of ratings that are 4 or 5."""
        return ratio(sum(1 for s in self.csat if s >= 4), len(self.csat))


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def median(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if kept else None


def channel_figures(channel: str, facts: Sequence[ConversationFacts], feedback: Sequence[Feedback], outbox_pending: int | None = None) -> ChannelFigures:
    """Add up the facts and feedback of one channel's conversations (or of all of them)."""
    ids = {f.id for f in facts}
    mine = [f for f in feedback if f.conversation_id in ids]
    outcomes = Counter(f.outcome for f in facts)
    reasons = Counter(r for f in facts for r in f.handoff_reasons)
    return ChannelFigures(
        channel=channel,
        conversations=len(facts),
        customer_messages=sum(f.customer_messages for f in facts),
        outcomes={name: outcomes[name] for name in OUTCOMES},
        clarifications=sum(f.clarifications for f in facts),
        handoffs=sum(reasons.values()),
        handoff_reasons={name: reasons[name] for name in HANDOFF_REASONS},
        outside_hours=sum(f.outside_hours for f in facts),
        no_agent_in_time=sum(f.no_agent_in_time for f in facts),
        tickets=sum(f.tickets for f in facts),
        bot_first_response=median(f.bot_first_response for f in facts),
        agent_first_response=median(f.agent_first_response for f in facts),
        agent_responses=sum(1 for f in facts if f.agent_first_response is not None),
        helpful_yes=sum(1 for f in mine if f.helpful is True),
        helpful_no=sum(1 for f in mine if f.helpful is False),
        csat=tuple(f.csat for f in mine if f.csat is not None),
        outbox_pending=outbox_pending,
    )


def shares(counts: Mapping[str, int]) -> dict[str, int]:
    """Shares in tenths of a percent that add up to exactly 1000 (largest remainder), {} if all zero."""
    total = sum(counts.values())
    if not total:
        return {}
    exact = {k: v * 1000 / total for k, v in counts.items()}
    rounded = {k: int(x) for k, x in exact.items()}
    short = 1000 - sum(rounded.values())
    for k in sorted(exact, key=lambda k: (rounded[k] - exact[k], list(counts).index(k)))[:short]:
        rounded[k] += 1
    return rounded


# -- the period -----------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """The rows of the conversations that started in [since, until)."""

    since: datetime
    until: datetime | None
    conversations: tuple[Conversation, ...]
    messages: tuple[Message, ...]
    feedback: tuple[Feedback, ...]
    tickets: tuple[Ticket, ...]


def load_period(store: Store, since: datetime, until: datetime | None, channel: str | None = None) -> Period:
    """Read the conversations started in the period and everything that belongs to them."""
    conversations = store.list_conversations(channel=channel, since=since, until=until)
    ids = {c.id for c in conversations}
    # Nothing of a conversation predates it, so reading from `since` on finds all of it.
    return Period(
        since=since,
        until=until,
        conversations=tuple(conversations),
        messages=tuple(m for m in store.list_messages_since(since) if m.conversation_id in ids),
        feedback=tuple(f for f in store.list_feedback(since=since) if f.conversation_id in ids),
        tickets=tuple(t for t in store.list_tickets(since=since) if t.conversation_id in ids),
    )


def outbox_pending(store: Store, channel: str | None) -> int | None:
    """Replies waiting to be delivered on the channel; None where the store keeps no outbox."""
    from bot.outbox import outbox_pending as pending

    return pending(store, channel)


@dataclass(frozen=True)
class DayFigures:
    day: date  # local date in the report's time zone
    conversations: Mapping[str, int]  # per channel
    deflected: int

    @property
    def total(self) -> int:
        return sum(self.conversations.values())


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime  # exclusive; the time the report ran when no --until was given
    tz: str
    channels: tuple[ChannelFigures, ...]  # one per channel, then "all" (unless one channel was asked for)
    days: tuple[DayFigures, ...]
    gaps: tuple[GapGroup, ...]
    gap_questions: Mapping[str, int] = field(default_factory=dict)  # kind -> count

    def figures(self, channel: str) -> ChannelFigures:
        return next(c for c in self.channels if c.channel == channel)

    @property
    def first_day(self) -> date:
        return self.since.astimezone(ZoneInfo(self.tz)).date()

    @property
    def last_day(self) -> date:
        return (self.until - timedelta(microseconds=1)).astimezone(ZoneInfo(self.tz)).date()


def daily(facts: Sequence[ConversationFacts], channels: Sequence[str], since: datetime, until: datetime, tz: ZoneInfo) -> list[DayFigures]:
    """Conversations per local day and channel, and how many were deflected; every day of the period."""
    per_day: dict[date, Counter[str]] = defaultdict(Counter)
    deflected: Counter[date] = Counter()
    for f in facts:
        day = f.created_at.astimezone(tz).date()
        per_day[day][f.channel] += 1
        deflected[day] += f.outcome == "deflected"
    first = since.astimezone(tz).date()
    last = (until - timedelta(microseconds=1)).astimezone(tz).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [DayFigures(d, {c: per_day[d][c] for c in channels}, deflected[d]) for d in days]


def build_report(
    period: Period,
    gaps: Sequence[GapGroup],
    gap_questions: Sequence[GapQuestion],
    *,
    tz: ZoneInfo,
    now: datetime,
    channel: str | None = None,
    pending: Callable[[str | None], int | None] = lambda channel: None,
) -> Report:
    """Every figure of the report from the period's rows and the grouped gaps."""
    tickets = Counter(t.conversation_id for t in period.tickets)
    by_conversation: dict[str, list[Message]] = defaultdict(list)
    for m in period.messages:
        by_conversation[m.conversation_id].append(m)
    facts = [conversation_facts(c, by_conversation[c.id], tickets[c.id]) for c in period.conversations]
    seen = sorted({f.channel for f in facts} - set(CHANNELS))
    names = [channel] if channel else [*CHANNELS, *seen]
    figures = [channel_figures(n, [f for f in facts if f.channel == n], period.feedback, pending(n)) for n in names]
    if not channel:
        figures.append(channel_figures(ALL, facts, period.feedback, pending(None)))
    until = period.until or now
    return Report(
        since=period.since,
        until=until,
        tz=tz.key,
        channels=tuple(figures),
        days=tuple(daily(facts, names, period.since, until, tz)),
        gaps=tuple(gaps),
        gap_questions=dict(Counter(q.kind for q in gap_questions)),
    )


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
    from bot.report_text import format_report
    from bot.store import open_store
    tz = report_zone(settings)
    now = now or datetime.now(timezone.utc)
    start, end = parse_period(since, until, tz, now)
    store = open_store(settings.db, busy_timeout=settings.db_busy_timeout)
    try:
        report = make_report(store, start, end, load_encoder=lambda: encoder or _gap_encoder(settings.encoder), tz=tz, now=now, channel=channel)
    finally:
        store.close()
    out.write(format_report(report))
    if html:
        from bot.report_html import render_html

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
