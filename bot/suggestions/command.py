"""`answerdesk suggestions`: the console's "Improve the help center" for maintainers who edit the
KB in git. List the open suggestions (`--json` for scripts, `--lang`), accept or reject them by id."""

from __future__ import annotations

import argparse
import getpass
import json
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from bot.config import Settings
from bot.errors import AnswerdeskError
from bot.store.connect import open_store
from bot.store.sql_suggestions import Decision
from bot.suggestions.model import DRAFT, Suggestion
from bot.suggestions.review import Listing, Review
from index.kb_edit import Author

SOURCE_TEXT = {
    "picked": "picked from the offered articles",
    "agent": "an agent answered with it",
    "better": "helped after another article did not",
    "confirmed": "a close call the customer said helped",
    "gap": "nothing answered these",
}


def add_parser(sub: Any) -> None:
    p = sub.add_parser("suggestions", help="questions from traffic for the KB: list, accept, reject")
    p.add_argument("--json", action="store_true", help="print the open suggestions as JSON")
    p.add_argument("--lang", help="only suggestions in this language (ISO 639-1)")
    p.set_defaults(run=run, action=None)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    for name, text in (("accept", "write the suggestions into the KB"), ("reject", "never offer these suggestions again")):
        a = actions.add_parser(name, help=text)
        a.add_argument("ids", nargs="+", metavar="ID")
        a.add_argument("--by", help='who decides, "Name <email>" (default: git config user.name/user.email, else the login name)')
        if name == "accept":
            a.add_argument("--text", help="the question (a draft: its title) as it should be written, instead of as suggested; one ID only")
        a.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace, out: TextIO | None = None, engine: Any = None) -> int:
    out = out or sys.stdout
    store = open_store(settings.db, busy_timeout=settings.db_busy_timeout, synchronous=settings.sqlite_synchronous)
    try:
        if engine is None:
            from bot.answer.engine import build_engine

            engine = build_engine(settings)
        review = Review(settings, store, engine=engine)
        if args.action is None:
            listing = review.listing(lang=args.lang)
            out.write(json.dumps(as_json(listing), ensure_ascii=False, indent=2) + "\n" if args.json else format_listing(listing, settings))
            return 0
        return _decide(review, args, out)
    finally:
        store.close()


def _decide(review: Review, args: argparse.Namespace, out: TextIO) -> int:
    if getattr(args, "text", None) and len(args.ids) > 1:
        raise AnswerdeskError("--text: give one ID with it, the text is that suggestion's")
    by = parse_reviewer(args.by) if args.by else default_reviewer(review.settings.kb_dir)
    text = getattr(args, "text", None)
    if args.action == "accept" and not text:
        results = review.accept_many(args.ids, by)  # the period is read once, each article written once (one commit)
    elif args.action == "accept":
        results = [_attempt(lambda i: review.accept(i, by, text=text), args.ids[0])]
    else:
        results = [_attempt(lambda i: review.reject(i, by), i) for i in args.ids]
    failed = 0
    for suggestion_id, d in zip(args.ids, results):
        if isinstance(d, AnswerdeskError):  # the others still go through; the exit status says one failed
            failed += 1
            print(f"error: {suggestion_id}: {d}", file=sys.stderr)
        elif args.action == "accept":
            where = f" into {d.file}" + (f" (commit {d.revision[:10]})" if d.revision else "") if d.file else ""
            out.write(f"accepted {suggestion_id}{where}\n")
        else:
            out.write(f"rejected {suggestion_id}: it will not be offered again\n")
    if args.action == "accept" and failed < len(args.ids):
        out.write("Run 'answerdesk reindex' to serve them; it re-asks each accepted question and says whether it is now answered.\n")
    return 1 if failed else 0


def _attempt(decide: Callable[[str], Decision], suggestion_id: str) -> Decision | AnswerdeskError:
    try:
        return decide(suggestion_id)
    except AnswerdeskError as e:
        return e


def parse_reviewer(text: str) -> Author:
    found = re.fullmatch(r"\s*(.+?)\s*<([^<>\s]+@[^<>\s]+)>\s*", text)
    if not found:
        raise AnswerdeskError(f'--by {text!r}: write it as "Name <email>"')
    return Author(found.group(1), found.group(2))


def default_reviewer(kb_dir: str) -> Author:
    """git's user.name and user.email for the KB folder, else the login name."""

    def git(key: str) -> str:
        try:
            done = subprocess.run(["git", "-C", kb_dir, "config", key], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    login = getpass.getuser()
    return Author(git("user.name") or login, git("user.email") or f"{login}@localhost")


# -- showing them ---------------------------------------------------------------------------------
def as_json(listing: Listing) -> list[dict[str, Any]]:
    return [
        {
            "id": s.id, "kind": s.kind, "article_id": s.article_id, "lang": s.lang, "text": s.text, "source": s.source,
            "customers": s.count, "missing_language": s.missing_language, "instead_of": s.instead_of, "questions": list(s.questions),
            "file_hash": listing.hashes.get(s.id),
            "evidence": [{"conversation_id": e.conversation_id, "message_id": e.message_id, "at": e.at.isoformat(), "channel": e.channel} for e in s.evidence],
        }
        for s in listing.open
    ]


def per_article(suggestions: Sequence[Suggestion]) -> list[tuple[tuple[str, str], list[Suggestion]]]:
    """Questions and notes grouped per (article, language), the groups with most customers first."""
    groups: dict[tuple[str, str], list[Suggestion]] = defaultdict(list)
    for s in suggestions:
        if s.kind != DRAFT and s.article_id:
            groups[(s.article_id, s.lang)].append(s)
    return sorted(groups.items(), key=lambda kv: (-sum(s.count for s in kv[1]), kv[0]))


def format_listing(listing: Listing, settings: Settings) -> str:
    lines = [f"Suggestions for the KB from the last {settings.suggestion_days} days: {len(listing.open)} open, {len(listing.decided)} decided."]
    if not listing.open:
        lines.append("Nothing to review: suggestions come when customers pick an article, an agent answers with one, or many ask what nothing answers.")
    for (article_id, lang), items in per_article(listing.open):
        lines.append(f"\n{lang}/{article_id}: {sum(s.count for s in items)} customers")
        for s in items:
            tag = "note: did not help for" if s.kind == "note" else "question"
            extra = f"; the article has no {lang} version" if s.missing_language else ""
            extra += f"; instead of {s.instead_of}" if s.instead_of else ""
            lines.append(f'  {s.id}  {tag} "{s.text}"  {s.count} customers, {SOURCE_TEXT.get(s.source, s.source)}{extra}; last {s.last_asked:%Y-%m-%d}')
    drafts = [s for s in listing.open if s.kind == DRAFT]
    if drafts:
        lines.append("\nDraft articles (what nothing in the KB answers):")
        for s in drafts:
            lines.append(f'  {s.id}  {s.lang} "{s.text}"  {s.count} customers, {len(s.questions)} questions')
            lines += [f"      - {q}" for q in s.questions]
    if listing.missing:
        lines.append("\nMissing translations that would have answered the most customers:")
        lines += [f"  {article_id} in {lang}: {n} customers" for article_id, lang, n in listing.missing]
    lines.append("\nAccept with 'answerdesk suggestions accept ID...', reject with 'answerdesk suggestions reject ID...'.")
    return "\n".join(lines) + "\n"
