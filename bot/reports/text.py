"""The KPI report as a plain-text table, for the terminal and e-mail."""

from __future__ import annotations

from collections.abc import Callable

from bot.reports.gaps import UNHELPFUL, GapGroup, GapQuestion
from bot.reports.outcomes import OUTCOME_HELP, OUTCOMES
from bot.reports.figures import ChannelFigures, Report, shares

LABEL = 34
COLUMN = 14
TEXT_GROUPS = 15  # the page shows more


def duration(seconds: float | None) -> str:
    """12s, 3m 05s, 2h 10m, 1d 4h; "-" when there is nothing to measure."""
    if seconds is None:
        return "-"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def count_share(part: int, whole: int) -> str:
    return f"{part} ({part / whole:.0%})" if whole else str(part)


def tenths(value: int) -> str:
    return f"{value / 10:.1f}%"


# (label, how to show a channel's figure)
KPI_ROWS: tuple[tuple[str, Callable[[ChannelFigures], str]], ...] = (
    ("conversations", lambda c: str(c.conversations)),
    ("customer messages", lambda c: str(c.customer_messages)),
    ("deflected (bot answered, no handoff)", lambda c: count_share(c.deflected, c.conversations)),
    ("clarifications (did you mean)", lambda c: str(c.clarifications)),
    ("handoffs", lambda c: str(c.handoffs)),
    ("  not covered by the KB", lambda c: str(c.handoff_reasons["not_covered"])),
    ("  asked for a person", lambda c: str(c.handoff_reasons["asked_for_person"])),
    ('  after a "no" on an answer', lambda c: str(c.handoff_reasons["negative_feedback"])),
    ("  met an offline team", lambda c: str(c.outside_hours)),
    ("  no agent in time", lambda c: str(c.no_agent_in_time)),
    ("tickets", lambda c: str(c.tickets)),
    ("bot first response (median)", lambda c: duration(c.bot_first_response)),
    ("agent first response (median)", lambda c: duration(c.agent_first_response)),
    ("helpful (yes / yes+no)", lambda c: f"{percent(c.helpful_rate)} n={c.helpful_yes + c.helpful_no}" if c.helpful_yes + c.helpful_no else "-"),
    ("CSAT mean (1-5)", lambda c: f"{c.csat_mean:.1f} n={len(c.csat)}" if c.csat_mean is not None else "-"),
    ("CSAT share 4-5", lambda c: percent(c.csat_good_share)),
    ("outbox pending", lambda c: "-" if c.outbox_pending is None else str(c.outbox_pending)),
)


def _row(label: str, cells: list[str]) -> str:
    return f"{label:<{LABEL}}" + "".join(f"{cell:>{COLUMN}}" for cell in cells)


def format_report(report: Report) -> str:
    """The whole report: figures per channel, outcomes, and the uncovered questions."""
    lines = [
        f"Answerdesk report {report.first_day} to {report.last_day} ({report.tz}): conversations started in this period",
        "",
        _row("", [c.channel for c in report.channels]),
    ]
    lines += [_row(label, [show(c) for c in report.channels]) for label, show in KPI_ROWS]
    lines += ["", "Outcomes (one per conversation; shares add up to 100%)", _row("", [c.channel for c in report.channels])]
    split = [shares(c.outcomes) for c in report.channels]
    for name in OUTCOMES:
        lines.append(_row(name, [f"{c.outcomes[name]} ({tenths(s[name])})" if s else "0" for c, s in zip(report.channels, split)]))
    lines.append(_row("total", [f"{c.conversations} ({tenths(sum(s.values()))})" if s else "0" for c, s in zip(report.channels, split)]))
    lines += [f"  {name}: {OUTCOME_HELP[name]}" for name in OUTCOMES]
    lines += ["", *format_gaps(report)]
    return "\n".join(lines) + "\n"


def format_gaps(report: Report, limit: int = TEXT_GROUPS) -> list[str]:
    total = sum(report.gap_questions.values())
    if not total:
        return ["Questions the KB did not cover: none in this period"]
    unhelpful = report.gap_questions.get(UNHELPFUL, 0)
    lines = [
        f"Questions the KB did not cover: {total} in {len(report.gaps)} groups, biggest first "
        f'({total - unhelpful} handed off as not covered, {unhelpful} answered but rated "no", marked [no])'
    ]
    for number, group in enumerate(report.gaps[:limit], 1):
        lines.append(f"{number:>3}. {group.title}")
        lines.append(f"     {group_counts(group)} · {', '.join(f'{lang} {n}' for lang, n in group.languages)}")
        lines += [f"       - {example_text(q)}" for q in group.examples]
    rest = report.gaps[limit:]
    if rest:
        lines.append(f"  ... and {len(rest)} smaller groups ({sum(g.count for g in rest)} questions); --html lists them all")
    return lines


def group_counts(group: GapGroup) -> str:
    parts = [f"{group.count} question{'s' if group.count != 1 else ''}"]
    if group.unhelpful:
        parts.append(f"{group.not_covered} not covered, {group.unhelpful} rated no ({', '.join(group.articles)})")
    return ": ".join(parts)


def example_text(q: GapQuestion) -> str:
    mark = f" [no: {q.article_id}]" if q.kind == UNHELPFUL else ""
    return f"{q.text} ({q.lang}){mark}"
