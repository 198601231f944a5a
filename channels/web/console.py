"""The agent console: the queue, one conversation (take, take over, reply, back to bot, close), tickets, reindex.

Pages work as plain forms (POST, then redirect); console.js adds live updates from the
event streams below and sends replies without a reload.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for

from bot.answer.articles import ArticleVersion, article_link, article_path, find_version, versions_by_language
from bot.desk.desk import NotAllowed
from bot.desk.turns import NOT_YOURS, NotFound
from bot.desk.agents_desk import is_channel_agent
from bot.answer.phrases import language_name
from bot.store.model import QUEUE_STATES, Agent, Conversation, Message, Store
from channels.web.auth import current_agent, login_required, login_required_stream
from channels.web.context import web
from channels.web.events import Timing, conversation_poll, event, last_event_id, stream
from channels.web.transcript import conversation_summary, duration, message_view, reindex_view
from index.search import SearchIndex

bp = Blueprint("console", __name__, url_prefix="/agent")

MAX_REPLY = 4000


@bp.get("/")
@login_required
def queue() -> str:
    return render_template("queue.html", **_queue_data(), agent=current_agent())


@bp.get("/queue/events")
@login_required_stream
def queue_events() -> Response:
    context, agent = web(), current_agent()
    seen: dict[str, Any] = {"signature": None}

    def poll() -> list[str]:
        context.desk.seen(agent.id)  # an open queue keeps its agent available
        queued = context.desk.store.waiting_queue(agent.languages, states=QUEUE_STATES)
        mine = _mine(context.desk.store, agent.id)
        available = _available(context.desk.available_agents())
        status = context.reindex.status
        signature = (
            tuple((c.id, c.state, c.updated_at) for c in queued),
            tuple((c.id, c.updated_at) for c in mine),
            tuple(available),
            (status.state, status.finished_at),
        )
        if signature == seen["signature"]:
            return []
        seen["signature"] = signature
        now = context.clock()
        index = context.snapshot_or_none()
        payload = {
            "now": now.isoformat(),
            "waiting": [conversation_summary(c, context.desk.store, index, now) for c in queued if c.state == "waiting"],
            "missed": [conversation_summary(c, context.desk.store, index, now) for c in queued if c.state == "missed"],
            "mine": [conversation_summary(c, context.desk.store, index, now) for c in mine],
            "available": available,
            "reindex": reindex_view(status),
        }
        return [event(payload, name="queue")]

    return stream(poll, Timing.from_config(current_app.config))


@bp.get("/conversations/<conversation_id>")
@login_required
def conversation(conversation_id: str) -> str:
    context, agent = web(), current_agent()
    found = _conversation(conversation_id)
    messages = context.desk.store.list_messages(found.id)
    index = context.snapshot_or_none()
    names = _agent_names(messages)
    return render_template(
        "conversation.html",
        agent=agent,
        conversation=found,
        lang_name=language_name(found.lang, "en"),
        messages=[message_view(m, index, names) for m in messages],
        mine=found.state == "agent" and found.agent == agent.id,
        holder=names.get(found.agent or "") or _agent_name(found.agent),
        last_id=messages[-1].id if messages else 0,
        max_reply=MAX_REPLY,
        articles=article_choices(index, found.lang, _help_center()),
    )


@bp.get("/conversations/<conversation_id>/events")
@login_required_stream
def conversation_events(conversation_id: str) -> Response:
    context = web()
    found = _conversation(conversation_id)
    try:
        after = last_event_id() or 0
    except ValueError:
        abort(400, description="Last-Event-ID and 'after' must be a message id (a whole number).")
    names: dict[str, str] = {}

    def render(message: Message, _: Conversation) -> dict[str, Any]:
        if message.agent and message.agent not in names:
            names[message.agent] = _agent_name(message.agent, context.desk.store)
        return message_view(message, context.snapshot_or_none(), names)

    return stream(conversation_poll(context.desk.store, found.id, after, render), Timing.from_config(current_app.config), watch=found.id)


@bp.post("/conversations/<conversation_id>/take")
@login_required
def take(conversation_id: str) -> Response:
    agent = current_agent()
    found = _conversation(conversation_id)
    taken = web().desk.take(found.id, agent.id, agent.name)
    if taken or taken.already:  # a double click: it is theirs already
        return redirect(url_for("console.conversation", conversation_id=found.id))
    if taken.refusal == "taken":
        flash(f"{_agent_name(taken.holder)} already took this conversation; it is no longer in the queue.", "error")
    else:
        flash(f"This conversation is {taken.state} and cannot be taken.", "error")
    return redirect(url_for("console.queue"))


@bp.post("/conversations/<conversation_id>/reply")
@login_required
def reply(conversation_id: str) -> Response | tuple[Response, int]:
    agent = current_agent()
    found = _conversation(conversation_id)
    article_id = request.form.get("article_id", "").strip() or None
    text, problem = _with_article(request.form.get("text", ""), article_id, found.lang)
    if problem is None and not text.strip():
        problem = "Write a reply first."
    elif problem is None and len(text) > MAX_REPLY:
        problem = f"The reply is {len(text)} characters long; the limit is {MAX_REPLY}."
    status = 400
    message = None
    if problem is None:
        try:
            message = web().desk.agent_reply(found.id, agent.id, text, article_id=article_id)
        except NotAllowed:
            problem, status = "This conversation is not yours any more: take it first.", 409
        except NotFound as e:
            problem = f"Not sent: {e}."
    if _wants_json():
        return (jsonify(error=problem), status) if problem else jsonify(id=message.id if message else None)
    if problem:
        flash(problem, "error")
    return redirect(url_for("console.conversation", conversation_id=found.id) + "#reply")


@bp.post("/conversations/<conversation_id>/hand-back")
@login_required
def hand_back(conversation_id: str) -> Response:
    found = _conversation(conversation_id)
    sent = web().desk.hand_back(found.id, current_agent().id)
    if sent:
        flash("The bot has the conversation again.", "info")
        return redirect(url_for("console.queue"))
    if sent.refusal == "taken":
        flash(f"{_agent_name(sent.holder)} has this conversation: only they can hand it back.", "error")
    else:
        flash(f"This conversation is {sent.state}: there is nothing to hand back.", "error")
    return redirect(url_for("console.conversation", conversation_id=found.id))


@bp.post("/conversations/<conversation_id>/take-over")
@login_required
def take_over(conversation_id: str) -> Response:
    agent = current_agent()
    found = _conversation(conversation_id)
    taken = web().desk.take_over(found.id, agent.id, agent.name)
    if taken:
        flash(f"You took this conversation over from {_agent_name(found.agent)}; the transcript says so." if found.state == "agent" and found.agent else "You took this conversation.", "info")
    elif not taken.already:
        flash(f"This conversation is {taken.state} and cannot be taken over.", "error")
    return redirect(url_for("console.conversation", conversation_id=found.id))


@bp.post("/conversations/<conversation_id>/close")
@login_required
def close(conversation_id: str) -> Response:
    found = _conversation(conversation_id)
    closed = web().desk.close(found.id, current_agent().id)
    if closed:
        flash("Conversation closed; the customer was asked to rate it.", "info")
    elif closed.refusal == NOT_YOURS:
        flash(f"{_agent_name(closed.holder)} has this conversation: only they can close it. Take it over first if you must.", "error")
        return redirect(url_for("console.conversation", conversation_id=found.id))
    else:
        flash("The conversation was already closed.", "error")
    return redirect(url_for("console.queue"))


@bp.get("/tickets")
@login_required
def tickets() -> str:
    store = web().desk.store
    index = web().snapshot_or_none()
    rows = []
    for ticket in reversed(store.list_tickets()):
        messages = store.list_messages(ticket.conversation_id)
        rows.append({"ticket": ticket, "lang_name": language_name(ticket.lang, "en"), "messages": [message_view(m, index, {}) for m in messages]})
    return render_template("tickets.html", rows=rows, agent=current_agent(), max_reply=MAX_REPLY, mail_enabled=web().settings.mail_enabled)


@bp.post("/tickets/<int:ticket_id>/answer")
@login_required
def answer_ticket(ticket_id: int) -> Response:
    store = web().desk.store
    if store.get_ticket(ticket_id) is None:
        abort(404, description=f"There is no ticket #{ticket_id}.")
    text = request.form.get("answer", "")
    if not text.strip() or len(text) > MAX_REPLY:
        flash(f"Write an answer of 1 to {MAX_REPLY} characters.", "error")
    else:
        ticket = web().desk.answer_ticket(ticket_id, current_agent().id, text)
        if web().settings.mail_enabled:
            flash(f"Ticket #{ticket_id} is answered: the answer goes to {ticket.email} by e-mail and to the customer's chat.", "info")
        else:
            flash(
                f"Ticket #{ticket_id} is answered in the customer's chat. E-mail is off (no ANSWERDESK_SMTP_HOST): "
                f"send it to {ticket.email} yourself.", "info",
            )
    return redirect(url_for("console.tickets") + f"#ticket-{ticket_id}")


@bp.post("/reindex")
@login_required
def reindex() -> Response:
    if web().reindex.start():
        flash("Reindexing started; the bot keeps answering from the current index until the new one is ready.", "info")
    else:
        flash("A reindex is already running.", "error")
    return redirect(url_for("console.queue"))


@bp.get("/reindex")
@login_required
def reindex_status() -> Response:
    return jsonify(reindex_view(web().reindex.status))


# -- pieces ---------------------------------------------------------------------------------
def article_choices(index: SearchIndex | None, lang: str, root: str) -> dict[str, list[dict[str, str]]]:
    """The reply's article picker: the served articles with a version in `lang` ("here"), then the
    others in the version a `lang` customer gets ("elsewhere", its language named), by title; each
    with the line that links it (`root`: the help center's address)."""
    if index is None:
        return {"here": [], "elsewhere": []}
    here = {v.article_id: v for v in versions_by_language(index).get(lang, [])}
    others = [v for a in sorted(set(index.versions) - set(here)) if (v := find_version(index, a, lang)) is not None]

    def choice(v: ArticleVersion, shown: str) -> dict[str, str]:
        return {"id": v.article_id, "title": shown, "line": f"{v.title}: {article_path(root, v.lang, v.article_id)}"}

    return {
        "here": [choice(v, v.title) for v in here.values()],
        "elsewhere": [choice(v, f"{v.title} ({language_name(v.lang, 'en')})") for v in sorted(others, key=lambda v: v.title.casefold())],
    }


def _with_article(text: str, article_id: str | None, lang: str) -> tuple[str, str | None]:
    """"Answer with an article": the reply with the article's link added unless it is in it already
    (console.js puts it in as the agent picks; without JavaScript it is added here), or a problem."""
    if article_id is None:
        return text, None
    index = web().snapshot_or_none()
    link = article_link(index, article_id, lang, _help_center()) if index is not None else None
    if link is None:
        return text, f"The article {article_id!r} is not in the served index (reindexed meanwhile?); reload the page and pick again."
    return (text if link.url in text else f"{text.rstrip()}\n\n{link.title}: {link.url}".lstrip()), None


def _help_center() -> str:
    """Where customers read articles: ANSWERDESK_PUBLIC_URL, else this server (it serves the help center too)."""
    return web().settings.public_url or request.url_root


def _queue_data() -> dict[str, Any]:
    context, agent = web(), current_agent()
    now = context.clock()
    index = context.snapshot_or_none()
    queued = context.desk.store.waiting_queue(agent.languages, states=QUEUE_STATES)
    return {
        "now": now,
        "waiting": [conversation_summary(c, context.desk.store, index, now) for c in queued if c.state == "waiting"],
        "missed": [conversation_summary(c, context.desk.store, index, now) for c in queued if c.state == "missed"],
        "available": _available(context.desk.available_agents()),
        "mail_enabled": context.settings.mail_enabled,
        "mine": [conversation_summary(c, context.desk.store, index, now) for c in _mine(context.desk.store, agent.id)],
        "reindex": reindex_view(context.reindex.status),
        "open_tickets": len(context.desk.store.list_tickets(status="open")),
        "languages": ", ".join(language_name(code, "en") for code in agent.languages),
        "duration": duration,
    }


def _available(agents: list[Agent]) -> list[str]:
    """Who can take a handoff now, as the queue shows them: "Ana (console)", "Bob (Slack)"."""
    return [f"{a.name} ({'Slack' if is_channel_agent(a, 'slack') else 'console'})" for a in agents]


def _mine(store: Store, agent_id: str) -> list[Conversation]:
    return store.list_conversations(state="agent", agent=agent_id)


def _conversation(conversation_id: str) -> Conversation:
    found = web().desk.store.get_conversation(conversation_id)
    if found is None:
        abort(404, description=f"There is no conversation {conversation_id!r}.")
    return found


def _agent_name(agent_id: str | None, store: Store | None = None) -> str:
    store = store or web().desk.store
    agent = store.get_agent(agent_id) if agent_id else None
    return agent.name if agent else "Another agent"


def _agent_names(messages: list[Message]) -> dict[str, str]:
    return {agent_id: _agent_name(agent_id) for agent_id in {m.agent for m in messages if m.agent}}


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"

