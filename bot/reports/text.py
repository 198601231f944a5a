"""The KPI report as a plain-text table, for the terminal and e-mail."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.reports.changes import WEEKS, Window
from bot.reports.gaps import UNHELPFUL, GapGroup, GapQuestion, NearMissGroup
from bot.reports.misses import CLOSE, HOW, NEAR_MISS_BAND
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
    ("  nobody available", lambda c: str(c.nobody_available)),
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
    """The whole report: figures per channel, outcomes, near-misses, gaps, requests for a person and KB changes."""
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
    lines += ["", *format_near_misses(report), "", *format_gaps(report), "", *format_person(report), "", *format_changes(report)]
    return "\n".join(lines) + "\n"


def format_changes(report: Report) -> list[str]:
    """Articles changed by accepted suggestions, and how often the bot settled the questions near them before and after."""
    if not report.changes:
        return ["KB changes: no suggestion was accepted in this period"]
    lines = [f"KB changes: deflection of the questions near each changed article, {WEEKS} weeks before and after (the change is served from the next reindex)"]
    for c in report.changes:
        partial = "" if c.after_complete else " (so far)"
        lines.append(
            f"  {c.changed_at:%Y-%m-%d} {c.article_id} ({c.what}): before {window(c.before)}, after {window(c.after)}{partial}"
        )
    return lines


def window(w: Window) -> str:
    return f"{percent(w.rate)} of {plural(w.questions, 'question')}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def article_name(article_id: str, title: str | None) -> str:
    return f'{article_id} "{title}"' if title and title != article_id else article_id


def languages(counts: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{lang} {n}" for lang, n in counts)


def threshold_note(report: Report) -> str:
    """How near-misses were told from gaps in this report."""
    later = "or the conversation got the article later (picked, answered when rephrased, linked by an agent)"
    if report.handoff_threshold is None:
        return f"the conversation got the article later (picked, answered when rephrased, linked by an agent); scores not used: {report.threshold_source}"
    return (
        f"the top article scored at most {NEAR_MISS_BAND:.3f} under the handoff threshold {report.handoff_threshold:.3f} "
        f"({report.threshold_source}), {later}"
    )


def format_near_misses(report: Report, limit: int = TEXT_GROUPS) -> list[str]:
    groups = report.near_misses
    if not groups:
        return ["Near-misses (the article exists, it scored under the threshold): none in this period", f"  a near-miss: {threshold_note(report)}"]
    total = sum(g.count for g in groups)
    lines = [
        f"Near-misses: {plural(total, 'question')} for {plural(len(groups), 'article')}, the most asked first; "
        "the article exists but scored under the threshold: add the questions to it as example questions",
        f"  a near-miss: {threshold_note(report)}",
    ]
    return lines + numbered(
        groups, limit, "more articles",
        lambda g: f"near-misses: add example questions to {article_name(g.article_id, g.title)}", near_counts, near_example,
    )


def numbered(
    groups: Sequence[Any], limit: int, more: str, head: Callable[[Any], str], counts: Callable[[Any], str], example: Callable[[Any], str]
) -> list[str]:
    """The first `limit` groups, numbered, each with its counts and examples; then how many more."""
    lines = []
    for number, group in enumerate(groups[:limit], 1):
        lines.append(f"{number:>3}. {head(group)}")
        lines.append(f"     {counts(group)}")
        lines += [f"       - {example(q)}" for q in group.examples]
    rest = groups[limit:]
    if rest:
        lines.append(f"  ... and {len(rest)} {more} ({sum(g.count for g in rest)} questions); --html lists them all")
    return lines


def near_counts(group: NearMissGroup) -> str:
    how = ", ".join(f"{n} {HOW[name]}" for name, n in group.how)
    return f"{plural(group.count, 'question')} · {languages(group.languages)} · best score {score(group.best_score)} · {how}"


def near_example(q: GapQuestion) -> str:
    return f"{q.text} ({near_detail(q)})"


def near_detail(q: GapQuestion) -> str:
    """A near-miss question's language, the article's score for it, and how it was found when not by its score."""
    near = q.near
    shown = [q.lang] + ([score(near.score)] if near and near.score is not None else []) + ([HOW[near.how]] if near and near.how != CLOSE else [])
    return ", ".join(shown)


def format_gaps(report: Report, limit: int = TEXT_GROUPS) -> list[str]:
    total = sum(report.gap_questions.values())
    if not total:
        return ["Not covered (nothing in the KB came close): none in this period"]
    unhelpful = report.gap_questions.get(UNHELPFUL, 0)
    lines = [
        f"Not covered: write an article (nothing in the KB came close): {plural(total, 'question')} in {plural(len(report.gaps), 'group')}, biggest first "
        f'({total - unhelpful} handed off as not covered, {unhelpful} answered but rated "no", marked [no])'
    ]
    return lines + numbered(
        report.gaps, limit, "smaller groups",
        lambda g: f"not covered: write an article: {g.title}", lambda g: f"{group_counts(g)} · {languages(g.languages)}{nearest_text(g)}", example_text,
    )


def nearest_text(group: GapGroup) -> str:
    """The nearest article the group's not-covered questions had, and its score."""
    if group.nearest is None:
        return ""
    return f" · nearest: {article_name(group.nearest, group.nearest_title)} ({score(group.nearest_score)})"


def format_person(report: Report, limit: int = TEXT_GROUPS) -> list[str]:
    groups = report.person
    if not groups:
        return ["Asked for a person: none in this period"]
    total = sum(g.count for g in groups)
    lines = [f"Asked for a person: {plural(total, 'question')} in {plural(len(groups), 'group')}, biggest first (what customers said, or had asked, when they asked for one)"]
    return lines + numbered(
        groups, limit, "smaller groups",
        lambda g: g.title, lambda g: f"{plural(g.count, 'question')} · {languages(g.languages)}", lambda q: f"{q.text} ({q.lang})",
    )


def group_counts(group: GapGroup) -> str:
    parts = [f"{group.count} question{'s' if group.count != 1 else ''}"]
    if group.unhelpful:
        parts.append(f"{group.not_covered} not covered, {group.unhelpful} rated no ({', '.join(group.articles)})")
    return ": ".join(parts)


def example_text(q: GapQuestion) -> str:
    mark = f" [no: {q.article_id}]" if q.kind == UNHELPFUL else ""
    return f"{q.text} ({q.lang}){mark}"
