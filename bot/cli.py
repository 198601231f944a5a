"""The `answerdesk` command: reindex, ask, calibrate, serve, agents, report, suggestions."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Sequence, TextIO

from bot.answer.calibration import Case, calibrate_labelled
from bot.config import Settings, describe_settings
from bot.answer.engine import Engine, Inbound, Outcome, build_engine
from bot.errors import AnswerdeskError, ConfigError, KBErrors
from bot.reindex.run import reindex, write_calibration
from bot.suggestions.command import add_parser as suggestions_parser

if TYPE_CHECKING:
    from bot.store.model import Store


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env().with_overrides(kb_dir=getattr(args, "kb", None), index_dir=getattr(args, "index", None))
        return args.run(settings, args)
    except KBErrors as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except AnswerdeskError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    settings_help = "\n".join(f"  {env} (default {default}): {text}" for env, default, text in describe_settings())
    parser = argparse.ArgumentParser(
        prog="answerdesk",
        description="Answerdesk: a multilingual support bot over your help-center articles.",
        epilog="settings (environment variables, or keys of the TOML file named by ANSWERDESK_CONFIG):\n" + settings_help,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("reindex", help="validate the KB and rebuild the search index")
    p.add_argument("--kb", help="knowledge base folder (default: ANSWERDESK_KB)")
    p.add_argument("--index", help="index folder (default: ANSWERDESK_INDEX)")
    p.add_argument("--check", action="store_true", help="only validate the KB; build nothing")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show progress bars on stderr (default: for large KBs, when stderr is a terminal)")
    p.set_defaults(run=_reindex)

    p = sub.add_parser("ask", help="ask the bot a question (no TEXT: a prompt loop)")
    p.add_argument("text", nargs="*", help="the question")
    p.add_argument("--index", help="index folder (default: ANSWERDESK_INDEX)")
    p.add_argument("--lang", help="language hint, as a channel would give it (e.g. tr-TR)")
    p.add_argument("--batch", metavar="CASES.jsonl", help='one JSON line per input row {"text", "lang"}; "-" reads stdin')
    p.set_defaults(run=_ask)

    p = sub.add_parser("calibrate", help="set the thresholds from labelled questions")
    p.add_argument("cases", metavar="CASES.jsonl", help='rows {"text", "article_id": id or null for "should hand off", "lang"?}')
    p.add_argument("--index", help="index folder (default: ANSWERDESK_INDEX)")
    p.set_defaults(run=_calibrate)
    p = sub.add_parser("serve", help="serve the help center, chat widget, agent console and API")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--workers", type=int, help="processes: 1 (uvicorn) or 2+ (gunicorn with uvicorn workers) (default: ANSWERDESK_WORKERS, 1)")
    p.add_argument("--index", help="index folder (default: ANSWERDESK_INDEX)")
    p.set_defaults(run=_serve)

    p = sub.add_parser("telegram", help="run the Telegram channel by long polling, or register its webhook")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--polling", action="store_true", help="answer Telegram by long polling (no public URL needed) until Ctrl+C")
    mode.add_argument(
        "--set-webhook",
        metavar="URL",
        help="register https://<host>/telegram/webhook with TELEGRAM_WEBHOOK_SECRET and the /start /help /human menu, then exit",
    )
    p.add_argument("--index", help="index folder (default: ANSWERDESK_INDEX)")
    p.set_defaults(run=_telegram)

    p = sub.add_parser("agent", help="manage agent accounts")
    agent_sub = p.add_subparsers(dest="agent_command", metavar="ACTION", required=True)
    a = agent_sub.add_parser("add", help="create an agent account (asks for the password)")
    a.add_argument("email")
    a.add_argument("--name", required=True, help="name shown to customers")
    a.add_argument("--languages", default="en", help="comma-separated languages the agent speaks (default en)")
    a.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    a.set_defaults(run=_agent_add)
    a = agent_sub.add_parser("list", help="every agent account: address, name, languages, last seen")
    a.add_argument("--all", action="store_true", help="removed accounts too")
    a.set_defaults(run=_agent_list)
    a = agent_sub.add_parser("remove", help="remove an agent: no sign-in, not available; past messages keep the name")
    a.add_argument("email")
    a.set_defaults(run=_agent_remove)
    a = agent_sub.add_parser("reset-password", help="a new password for an agent (asks for it)")
    a.add_argument("email")
    a.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    a.set_defaults(run=_agent_reset_password)
    a = agent_sub.add_parser("set-languages", help="the languages an agent speaks: their queue shows these first")
    a.add_argument("email")
    a.add_argument("languages", help="comma-separated ISO 639-1 codes, e.g. en,tr")
    a.set_defaults(run=_agent_set_languages)

    p = sub.add_parser("report", help="KPIs per channel and the questions the KB does not cover")
    p.add_argument("--since", help="first day, YYYY-MM-DD (default: 30 days ago)")
    p.add_argument("--until", help="day after the last, YYYY-MM-DD (default: now)")
    p.add_argument("--channel", help="only this channel (web, slack, telegram)")
    p.add_argument("--html", metavar="FILE", help="also write the report as one self-contained HTML page")
    p.set_defaults(run=_report)

    suggestions_parser(sub)
    return parser


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    # The launcher: the only place in bot/ that reaches for channels (channels.serve puts them together).
    settings = settings.with_overrides(workers=args.workers)
    if settings.workers < 1:
        raise ConfigError("--workers", settings.workers, "Use 1 (one process) or more.")
    if settings.workers > 1:
        from channels.workers import serve_workers

        return serve_workers(settings, host=args.host, port=args.port)
    from channels.serve import serve

    return serve(settings, host=args.host, port=args.port)


def _telegram(settings: Settings, args: argparse.Namespace) -> int:
    from channels.telegram.cli import run_polling, set_webhook

    return set_webhook(settings, args.set_webhook, sys.stdout) if args.set_webhook else run_polling(settings, sys.stdout)


def _agent_add(settings: Settings, args: argparse.Namespace) -> int:
    from bot.desk.agents import check_new_address, create_agent

    with _store(settings) as store:
        check_new_address(store, args.email)  # a taken address says how to change it, before a password is asked
        agent = create_agent(store, args.email, args.name, _new_password(args.password_stdin), _codes(args.languages))
    print(f"agent {agent.email} ({agent.name}, speaks {', '.join(agent.languages)}) created")
    return 0


def _agent_list(settings: Settings, args: argparse.Namespace) -> int:
    from bot.desk.agents_desk import NO_PASSWORD

    with _store(settings) as store:
        agents = store.list_agents(removed=args.all)
    for agent in agents:
        where = "Slack only (no console sign-in)" if agent.password_hash == NO_PASSWORD else "console"
        seen = f"last seen {agent.seen_at:%Y-%m-%d %H:%M} UTC" if agent.seen_at else "not seen"
        if agent.removed_at:
            seen = f"removed {agent.removed_at:%Y-%m-%d}"
        print(f"{agent.email}\t{agent.name}\t{','.join(agent.languages)}\t{where}\t{seen}")
    if not agents:
        print("no agents yet: add one with 'answerdesk agent add EMAIL --name NAME --languages en,tr'")
    return 0


def _agent_remove(settings: Settings, args: argparse.Namespace) -> int:
    from bot.desk.agents import remove_agent

    with _store(settings) as store:
        agent, returned = remove_agent(store, args.email)
    back = f"; {len(returned)} conversation(s) they had are back in the queue as missed" if returned else ""
    print(f"agent {agent.email} removed: cannot sign in, not available{back}. Past messages keep the name {agent.name!r}.")
    return 0


def _agent_reset_password(settings: Settings, args: argparse.Namespace) -> int:
    from bot.desk.agents import find_agent, reset_password

    with _store(settings) as store:
        find_agent(store, args.email)  # an unknown address is said before a password is asked
        agent = reset_password(store, args.email, _new_password(args.password_stdin))
    print(f"agent {agent.email}: password changed")
    return 0


def _agent_set_languages(settings: Settings, args: argparse.Namespace) -> int:
    from bot.desk.agents import set_languages

    with _store(settings) as store:
        agent = set_languages(store, args.email, _codes(args.languages))
    print(f"agent {agent.email} now speaks {', '.join(agent.languages)}")
    return 0


@contextlib.contextmanager
def _store(settings: Settings) -> Iterator["Store"]:
    """The store the settings name, closed after the command."""
    from bot.store.connect import open_store

    store = open_store(settings.db, busy_timeout=settings.db_busy_timeout, synchronous=settings.sqlite_synchronous)
    try:
        yield store
    finally:
        store.close()


def _new_password(from_stdin: bool) -> str:
    """A password from standard input, or typed twice; its rules are checked after the first time."""
    import getpass

    from bot.desk.agents import check_password

    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
        check_password(password)
        return password
    password = getpass.getpass("password: ")
    check_password(password)
    if getpass.getpass("again: ") != password:
        raise AnswerdeskError("the passwords differ; nothing was changed")
    return password


def _codes(languages: str) -> list[str]:
    return [c.strip() for c in languages.split(",") if c.strip()]


def _report(settings: Settings, args: argparse.Namespace) -> int:
    from bot.reports.command import run_report

    return run_report(settings, since=args.since, until=args.until, channel=args.channel, html=args.html, out=sys.stdout)


def _reindex(settings: Settings, args: argparse.Namespace) -> int:
    report = reindex(settings, check=args.check, show_progress=args.progress)
    kb = report.kb
    served = kb.served()
    drafts = len(kb.articles) - len(served.articles)
    unserved = f"; {drafts} draft version(s), not served until their 'draft: true' is removed" if drafts else ""
    print(f"knowledge base {settings.kb_dir}: {len(served.article_ids)} articles, {len(served.articles)} language versions ({', '.join(served.languages)}){unserved}")
    if report.build is None:
        print("check passed: nothing built")
        return 0
    b = report.build
    print(f"index {settings.index_dir} -> {b.path}: {b.vectors} vectors ({b.index_type}), {b.encoded} encoded, {b.reused} reused, {b.seconds:.1f} s")
    cal = report.calibration
    if cal and cal.carried_over is not None:
        print(f"calibration kept: {cal.carried_over} article(s) changed since it was made (recalibrates past 1% of the KB)")
    if cal:
        t = cal.thresholds
        print(f"calibration ({cal.source}, {cal.covered} held-out questions, {cal.uncovered} off-topic probes): answer >= {t.answer:.3f}, handoff < {t.handoff:.3f}, clarify margin {t.margin:.3f}; estimated handoff recall {cal.handoff_recall:.0%}")
        print(f"  {'lang':5} {'questions':>9} {'coverage':>9} {'answered':>9} {'precision':>9} {'handoff recall':>15}")
        for lang, row in cal.per_language.items():
            recall = f"{row['handoff_recall']:.0%}" if "handoff_recall" in row else "-"
            if row["covered_questions"]:
                print(f"  {lang:5} {int(row['covered_questions']):>9} {row['coverage']:>9.0%} {row['answered']:>9.0%} {row['precision']:>9.0%} {recall:>15}")
            else:
                print(f"  {lang:5} {0:>9} {'-':>9} {'-':>9} {'-':>9} {recall:>15}")
    return 0


def _ask(settings: Settings, args: argparse.Namespace) -> int:
    engine = build_engine(settings)
    engine.warm_up()
    if args.batch:
        source = sys.stdin if args.batch == "-" else open(args.batch, encoding="utf-8")
        with source:
            return _ask_batch(engine, source, sys.stdout, args.batch)
    if args.text:
        _print_outcome(engine.respond(Inbound(" ".join(args.text), lang_hint=args.lang)))
        return 0
    history: list[str] = []
    while True:
        try:
            text = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not text:
            continue
        outcome = engine.respond(Inbound(text, lang_hint=args.lang, history_langs=tuple(history)))
        history.append(outcome.lang.lang)
        _print_outcome(outcome)


def _ask_batch(engine: Engine, source: TextIO, out: TextIO, name: str) -> int:
    for number, line in enumerate(source, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text = row["text"]
            if not isinstance(text, str):
                raise TypeError("'text' must be a string")
        except (ValueError, KeyError, TypeError) as e:
            raise AnswerdeskError(f"{name}:{number}: each line must be a JSON object with a 'text' string ({e})") from e
        outcome = engine.respond(Inbound(text, lang_hint=row.get("lang")))
        reply = outcome.replies[0]
        out.write(
            json.dumps(
                {
                    "text": text,
                    "lang": outcome.lang.lang,
                    "action": outcome.decision.action,
                    "article_id": outcome.decision.article_id,
                    "reply": reply.text,
                    "candidates": [{"id": c.article_id, "score": round(c.score, 4)} for c in outcome.decision.candidates],
                },
                ensure_ascii=False,
            )
            + "\n"
        )
    return 0


def _print_outcome(outcome: Outcome) -> None:
    d = outcome.decision
    evidence = ", ".join(f"{c.article_id} {c.score:.3f} ({c.kind}, {c.lang})" for c in d.candidates)
    print(f"[{outcome.lang.lang} via {outcome.lang.source}] {d.action} ({d.reason}); candidates: {evidence or 'none'}")
    for reply in outcome.replies:
        print(reply.text)
        for number, choice in enumerate(reply.choices, 1):
            print(f"  {number}. {choice.title} [{choice.article_id}]")
    print()


def _calibrate(settings: Settings, args: argparse.Namespace) -> int:
    engine = build_engine(settings)
    cases = []
    with open(args.cases, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                cases.append(Case(row["text"], row.get("article_id"), row.get("lang", "")))
            except (ValueError, KeyError) as e:
                raise AnswerdeskError(f"{args.cases}:{number}: each line must be a JSON object with 'text' and 'article_id' (null to hand off)") from e
    snapshot = engine.index.current()
    unknown = sorted({c.article_id for c in cases if c.article_id and c.article_id not in snapshot.versions})
    if unknown:
        raise AnswerdeskError(f"{args.cases}: article ids not in the index: {', '.join(unknown[:5])}")
    # A case without a language is searched in the one the engine would read in it, as a customer's message is.
    detector = engine.detector(snapshot)
    cases = [c if c.lang else replace(c, lang=detector.detect(c.text).lang) for c in cases]
    calibration = calibrate_labelled(snapshot, engine.encoders, cases)
    path = write_calibration(settings.index_dir, calibration)
    t = calibration.thresholds
    print(f"calibrated on {calibration.covered} covered and {calibration.uncovered} uncovered questions: answer >= {t.answer:.3f}, handoff < {t.handoff:.3f}, margin {t.margin:.3f} -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
