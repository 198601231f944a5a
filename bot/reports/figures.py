"""The KPI report's figures: per channel, per day and in all, from the rows of one period.

A conversation belongs to the period it started in (`created_at` in [since, until)); all of
its messages, feedback and tickets count with it, even those written after `until`, so every
figure of a conversation is counted in one report.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.delivery.sql_outbox import outbox_pending as pending
from bot.reports.changes import KBChange
from bot.reports.gaps import GapGroup, GapQuestion, NearMissGroup
from bot.reports.outcomes import HANDOFF_REASONS, OUTCOMES, ConversationFacts, conversation_facts
from bot.store.model import Conversation, Feedback, Message, Store, Ticket

CHANNELS = ("web", "slack", "telegram")  # always shown, in this order; others follow
ALL = "all"


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
    nobody_available: int  # handoffs during hours with no agent available: missed at once
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
        nobody_available=sum(f.nobody_available for f in facts),
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
    gaps: tuple[GapGroup, ...]  # the true gaps: nothing in the KB came close (and answers rated "no")
    gap_questions: Mapping[str, int] = field(default_factory=dict)  # kind -> count, of the true gaps' questions
    near_misses: tuple[NearMissGroup, ...] = ()  # not covered, but the right article existed: one group per article
    person: tuple[GapGroup, ...] = ()  # what customers who asked for a person had asked
    handoff_threshold: float | None = None  # the one near-misses were measured from; None: by conversations alone
    threshold_source: str = ""  # where that threshold came from
    changes: tuple[KBChange, ...] = ()  # articles changed by accepted suggestions, deflection before and after

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
    near_misses: Sequence[NearMissGroup] = (),
    person: Sequence[GapGroup] = (),
    handoff_threshold: float | None = None,
    threshold_source: str = "",
    changes: Sequence[KBChange] = (),
) -> Report:
    """Every figure of the report from the period's rows, the grouped gaps, near-misses and requests for a person."""
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
        near_misses=tuple(near_misses),
        person=tuple(person),
        handoff_threshold=handoff_threshold,
        threshold_source=threshold_source,
        changes=tuple(changes),
    )
