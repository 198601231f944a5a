"""The KPI report as one self-contained HTML page: inline CSS, inline SVG charts, no script, no links out."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from bot.reports.gaps import UNHELPFUL, GapGroup
from bot.reports.figures import ALL, Report, shares
from bot.reports.outcomes import OUTCOME_HELP, OUTCOMES
from bot.reports.changes import WEEKS
from bot.reports.text import KPI_ROWS, article_name, group_counts, languages, near_counts, near_detail, nearest_text, plural, tenths, threshold_note, window

HTML_GROUPS = 50
CHART_GAPS = 10
CHANNEL_COLOURS = ("#2563eb", "#7c3aed", "#0891b2", "#ca8a04", "#db2777", "#4b5563")
OUTCOME_COLOURS = {
    "deflected": "#16a34a", "agent": "#2563eb", "ticket": "#7c3aed", "waiting": "#f59e0b",
    "missed": "#be185d", "abandoned": "#dc2626", "unanswered": "#fb923c", "smalltalk_only": "#94a3b8", "no_reply": "#d1d5db",
}
NOT_COVERED_COLOUR, UNHELPFUL_COLOUR, LINE_COLOUR = "#dc2626", "#f59e0b", "#111827"

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111827; margin: 2rem auto; max-width: 1000px; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2.2rem; border-bottom: 1px solid #e5e7eb; padding-bottom: .3rem; }
.sub { color: #6b7280; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid #f3f4f6; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; } td.indent { padding-left: 1.6rem; color: #4b5563; }
thead th { border-bottom: 2px solid #d1d5db; }
svg { display: block; max-width: 100%; height: auto; margin: .5rem 0 1rem; }
svg text { font: 11px system-ui, sans-serif; fill: #374151; }
.legend span { display: inline-block; margin-right: 1rem; } .legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; }
ol.gaps > li { margin-bottom: 1rem; } ol.gaps .meta { color: #4b5563; } ol.gaps ul { margin: .2rem 0; padding-left: 1.2rem; }
.no { color: #b45309; font-weight: 600; } dl { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; } dt { font-weight: 600; }
"""


def render_html(report: Report) -> str:
    """The report page: the same figures as the text, plus charts."""
    title = f"Answerdesk report {report.first_day} to {report.last_day}"
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">Conversations started in this period, days in {escape(report.tz)}. '
        "Each conversation has exactly one outcome.</p>",
        "<h2>Conversations and deflection per day</h2>",
        _legend([(c, _channel_colour(report, c)) for c in _channel_names(report)] + [("deflection rate (right axis)", LINE_COLOUR)]),
        daily_chart(report),
        "<h2>Per channel</h2>",
        channel_chart(report),
        _kpi_table(report),
        "<h2>Outcomes</h2>",
        _legend([(name, OUTCOME_COLOURS[name]) for name in OUTCOMES]),
        outcome_chart(report),
        _outcome_table(report),
        "<dl>" + "".join(f"<dt>{name}</dt><dd>{escape(OUTCOME_HELP[name])}</dd>" for name in OUTCOMES) + "</dl>",
        '<h2 id="near-misses">Near-misses: add example questions to the article</h2>',
        _near_list(report),
        '<h2 id="not-covered">Not covered: write an article</h2>',
        _legend([("handed off as not covered", NOT_COVERED_COLOUR), ('answered but rated "no"', UNHELPFUL_COLOUR)]),
        gaps_chart(report.gaps[:CHART_GAPS]),
        _gap_list(report),
        '<h2 id="asked-for-person">Asked for a person</h2>',
        _person_list(report),
        '<h2 id="kb-changes">KB changes</h2>',
        _changes_table(report),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _channel_names(report: Report) -> list[str]:
    return [c.channel for c in report.channels if c.channel != ALL]


def _channel_colour(report: Report, channel: str) -> str:
    names = _channel_names(report)
    return CHANNEL_COLOURS[names.index(channel) % len(CHANNEL_COLOURS)] if channel in names else LINE_COLOUR


def _legend(items: Sequence[tuple[str, str]]) -> str:
    return '<p class="legend">' + "".join(f'<span><i style="background:{colour}"></i>{escape(name)}</span>' for name, colour in items) + "</p>"


def _svg(chart_id: str, width: int, height: int, label: str, parts: Sequence[str]) -> str:
    return (
        f'<svg id="{chart_id}" class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>" + "".join(parts) + "</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def daily_chart(report: Report) -> str:
    """Stacked bars of conversations per day and channel, with the day's deflection rate as a line."""
    width, height, left, right, top, bottom = 960, 280, 44, 44, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    days = report.days
    peak = max([d.total for d in days] + [1])
    step = plot_w / max(len(days), 1)
    bar = max(step * 0.75, 1.0)
    parts = []
    for tick in _ticks(peak):
        y = top + plot_h - tick / peak * plot_h
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        parts.append(_text(left - 6, y + 4, str(tick), "end"))
    for pct in (0, 50, 100):
        parts.append(_text(left + plot_w + 6, top + plot_h - pct / 100 * plot_h + 4, f"{pct}%"))
    points = []
    label_every = max(1, len(days) // 15)
    for i, day in enumerate(days):
        x = left + i * step + (step - bar) / 2
        y = top + plot_h
        for channel, n in day.conversations.items():
            if n:
                h = n / peak * plot_h
                y -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{_channel_colour(report, channel)}">'
                    f"<title>{day.day} {escape(channel)}: {n}</title></rect>"
                )
        if day.total:
            rate = day.deflected / day.total
            points.append(f"{x + bar / 2:.1f},{top + plot_h - rate * plot_h:.1f}")
        if i % label_every == 0:
            parts.append(_text(x + bar / 2, height - bottom + 14, day.day.strftime("%d %b"), "middle"))
    if points:
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{LINE_COLOUR}" stroke-width="1.5"/>')
        parts += [f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2" fill="{LINE_COLOUR}"/>' for p in points]
    return _svg("chart-daily", width, height, "Conversations per day by channel, and the deflection rate", parts)


def _ticks(peak: int) -> list[int]:
    step = max(1, _nice(peak / 4))
    return list(range(0, peak + 1, step))


def _nice(value: float) -> int:
    for candidate in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if candidate >= value:
            return candidate
    return int(value)


def channel_chart(report: Report) -> str:
    """Conversations per channel, the deflected part darker, with the deflection rate."""
    rows = report.channels
    width, row_h, left = 960, 30, 90
    plot_w = width - left - 240
    peak = max([c.conversations for c in rows] + [1])
    parts = []
    for i, c in enumerate(rows):
        y = 8 + i * row_h
        colour = _channel_colour(report, c.channel)
        total_w = c.conversations / peak * plot_w
        parts.append(_text(left - 8, y + 15, c.channel, "end"))
        parts.append(f'<rect x="{left}" y="{y}" width="{total_w:.1f}" height="20" fill="{colour}" opacity="0.3"/>')
        parts.append(f'<rect x="{left}" y="{y}" width="{c.deflected / peak * plot_w:.1f}" height="20" fill="{colour}"/>')
        rate = f"{c.deflection_rate:.0%}" if c.deflection_rate is not None else "-"
        parts.append(_text(left + total_w + 8, y + 15, f"{c.conversations} conversations, {c.deflected} deflected ({rate})"))
    return _svg("chart-channels", width, 16 + len(rows) * row_h, "Conversations and deflection per channel", parts)


def outcome_chart(report: Report) -> str:
    """One 100% bar per channel, split by outcome."""
    width, row_h, left = 960, 34, 90
    plot_w = width - left - 20
    parts = []
    for i, c in enumerate(report.channels):
        y = 8 + i * row_h
        parts.append(_text(left - 8, y + 17, c.channel, "end"))
        split = shares(c.outcomes)
        x = float(left)
        for name in OUTCOMES:
            part = split.get(name, 0)
            if not part:
                continue
            w = part / 1000 * plot_w
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="24" fill="{OUTCOME_COLOURS[name]}">'
                f"<title>{escape(c.channel)} {name}: {c.outcomes[name]} ({tenths(part)})</title></rect>"
            )
            if w > 34:
                parts.append(_text(x + w / 2, y + 16, f"{part / 10:.0f}%", "middle", ' style="fill:#fff"'))
            x += w
        if not split:
            parts.append(_text(left, y + 17, "no conversations"))
    return _svg("chart-outcomes", width, 16 + len(report.channels) * row_h, "Outcome shares per channel", parts)


def gaps_chart(groups: Sequence[GapGroup]) -> str:
    """The biggest groups of uncovered questions, not covered and rated "no" stacked."""
    width, row_h, left = 960, 26, 380
    plot_w = width - left - 60
    peak = max([g.count for g in groups] + [1])
    parts = []
    for i, g in enumerate(groups):
        y = 6 + i * row_h
        title = g.title if len(g.title) <= 60 else g.title[:57] + "..."
        parts.append(_text(8, y + 14, f"{i + 1}."))
        parts.append(_text(left - 8, y + 14, title, "end"))  # alone in its element, so Arabic stays whole
        w1, w2 = g.not_covered / peak * plot_w, g.unhelpful / peak * plot_w
        parts.append(f'<rect x="{left}" y="{y}" width="{w1:.1f}" height="18" fill="{NOT_COVERED_COLOUR}"/>')
        parts.append(f'<rect x="{left + w1:.1f}" y="{y}" width="{w2:.1f}" height="18" fill="{UNHELPFUL_COLOUR}"/>')
        parts.append(_text(left + w1 + w2 + 6, y + 14, str(g.count)))
    if not groups:
        parts.append(_text(10, 20, "No uncovered questions in this period."))
    return _svg("chart-gaps", width, 12 + max(len(groups), 1) * row_h, "Biggest groups of questions the KB did not cover", parts)


def _kpi_table(report: Report) -> str:
    head = "".join(f"<th>{escape(c.channel)}</th>" for c in report.channels)
    rows = []
    for label, show in KPI_ROWS:
        cls = ' class="indent"' if label.startswith("  ") else ""
        rows.append(f"<tr><td{cls}>{escape(label.strip())}</td>" + "".join(f"<td>{escape(show(c))}</td>" for c in report.channels) + "</tr>")
    return f'<table id="kpis"><thead><tr><th></th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _outcome_table(report: Report) -> str:
    head = "".join(f"<th>{escape(c.channel)}</th>" for c in report.channels)
    split = [shares(c.outcomes) for c in report.channels]
    rows = [
        f"<tr><td>{name}</td>" + "".join(f"<td>{c.outcomes[name]} ({tenths(s.get(name, 0))})</td>" for c, s in zip(report.channels, split)) + "</tr>"
        for name in OUTCOMES
    ]
    rows.append("<tr><th>total</th>" + "".join(f"<th>{c.conversations} ({tenths(sum(s.values()))})</th>" for c, s in zip(report.channels, split)) + "</tr>")
    return f'<table id="outcomes"><thead><tr><th></th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _gap_list(report: Report) -> str:
    total = sum(report.gap_questions.values())
    if not total:
        return "<p>No uncovered questions in this period: nothing handed off that the KB had nothing close for.</p>"
    items = []
    for g in report.gaps[:HTML_GROUPS]:
        langs = languages(g.languages) + nearest_text(g)
        examples = "".join(
            f"<li><bdi>{escape(q.text)}</bdi> ({escape(q.lang)})"
            + (f' <span class="no">[no: {escape(q.article_id or "?")}]</span>' if q.kind == UNHELPFUL else "")
            + "</li>"
            for q in g.examples
        )
        items.append(
            f'<li><strong><bdi>{escape(g.title)}</bdi></strong><div class="meta">{escape(group_counts(g))} · {escape(langs)}</div><ul>{examples}</ul></li>'
        )
    more = len(report.gaps) - HTML_GROUPS
    tail = f"<p>... and {more} smaller groups.</p>" if more > 0 else ""
    return (
        f'<p>{plural(total, "question")} in {plural(len(report.gaps), "group")}, biggest first; [no] marks a question whose answer was rated "not helpful".</p>'
        f'<ol class="gaps">{"".join(items)}</ol>{tail}'
    )


def _near_list(report: Report) -> str:
    groups = report.near_misses
    note = f'<p class="sub">The article exists, but it scored under the threshold. A near-miss: {escape(threshold_note(report))}.</p>'
    if not groups:
        return note + "<p>No near-misses in this period.</p>"
    items = []
    for g in groups[:HTML_GROUPS]:
        examples = "".join(f"<li><bdi>{escape(q.text)}</bdi> ({escape(near_detail(q))})</li>" for q in g.examples)
        items.append(
            f"<li><strong>add example questions to <bdi>{escape(article_name(g.article_id, g.title))}</bdi></strong>"
            f'<div class="meta">{escape(near_counts(g))}</div><ul>{examples}</ul></li>'
        )
    total = sum(g.count for g in groups)
    more = len(groups) - HTML_GROUPS
    tail = f"<p>... and {more} more articles.</p>" if more > 0 else ""
    return note + f"<p>{plural(total, 'question')} for {plural(len(groups), 'article')}, the most asked first.</p>" + f'<ol class="gaps">{"".join(items)}</ol>{tail}'


def _changes_table(report: Report) -> str:
    if not report.changes:
        return "<p>No suggestion was accepted in this period.</p>"
    note = (f'<p class="sub">Deflection of the questions near each article changed by accepted suggestions, {WEEKS} weeks before '
            "and after the change (served from the next reindex).</p>")
    rows = "".join(
        f"<tr><td>{c.changed_at:%Y-%m-%d}</td><td><bdi>{escape(c.article_id)}</bdi></td><td>{escape(c.what)}</td>"
        f"<td>{escape(window(c.before))}</td><td>{escape(window(c.after))}{'' if c.after_complete else ' (so far)'}</td></tr>"
        for c in report.changes
    )
    return note + f"<table><thead><tr><th>changed</th><th>article</th><th>what</th><th>before</th><th>after</th></tr></thead><tbody>{rows}</tbody></table>"


def _person_list(report: Report) -> str:
    groups = report.person
    if not groups:
        return "<p>Nobody asked for a person in this period.</p>"
    items = []
    for g in groups[:HTML_GROUPS]:
        examples = "".join(f"<li><bdi>{escape(q.text)}</bdi> ({escape(q.lang)})</li>" for q in g.examples)
        items.append(
            f'<li><strong><bdi>{escape(g.title)}</bdi></strong><div class="meta">{escape(plural(g.count, "question"))} · {escape(languages(g.languages))}</div><ul>{examples}</ul></li>'
        )
    total = sum(g.count for g in groups)
    more = len(groups) - HTML_GROUPS
    tail = f"<p>... and {more} smaller groups.</p>" if more > 0 else ""
    return f"<p>{plural(total, 'question')} in {plural(len(groups), 'group')}: what customers said or had asked when they asked for a person.</p>" + f'<ol class="gaps">{"".join(items)}</ol>{tail}'
