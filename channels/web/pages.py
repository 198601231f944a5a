"""The demo help center: the article list per language and each article as a page, with the widget."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from markupsafe import Markup

from bot.answer.articles import find_version, text_direction, versions_by_language
from bot.answer.phrases import language_name
from bot.desk.links import read_link
from bot.language.codes import preferred_languages
from channels.web.context import web
from channels.web.visitor import set_visitor_cookie
from index.markdown import render_html

bp = Blueprint("pages", __name__)

SITE_NAME = "Answerdesk Demo Help Center"


def render_markdown(text: str) -> Markup:
    """Article Markdown as safe HTML (index/markdown.py: raw HTML shown as text, javascript: links dropped)."""
    return Markup(render_html(text))


@bp.get("/")
def home() -> str:
    """Every language's articles, the visitor's languages first (Accept-Language), then the bot's
    default language, then the rest by code."""
    grouped = versions_by_language(web().snapshot())
    wanted = preferred_languages(request.headers.get("Accept-Language"), grouped)
    default = web().settings.default_language
    order = sorted(grouped, key=lambda lang: (wanted.index(lang) if lang in wanted else len(wanted), lang != default, lang))
    sections = [
        {"lang": lang, "name": language_name(lang, lang), "dir": text_direction(lang), "articles": grouped[lang]}
        for lang in order
    ]
    return render_template("home.html", sections=sections, lang="en", dir="ltr")


@bp.get("/chat/<token>")
def chat_link(token: str) -> Response:
    """The link in an answer e-mail (bot/desk/links.py): this browser becomes the conversation's
    visitor, and the help center opens with the chat showing the answer."""
    conversation_id = read_link(web().settings.secret_key, token)
    conversation = web().desk.store.get_conversation(conversation_id) if conversation_id else None
    if conversation is None or conversation.channel != "web":
        abort(404, description="This link is out of date or damaged. Open the chat on the help center and ask again: we keep your conversation.")
    response = redirect(url_for("pages.home", chat="open"))
    set_visitor_cookie(response, conversation.external_user)
    return response


@bp.get("/articles/<lang>/<article_id>")
def article(lang: str, article_id: str) -> str:
    version = find_version(web().snapshot(), article_id, lang, fallback=False)
    if version is None:
        abort(404, description=f"There is no article {article_id!r} in {lang!r}.")
    others = [{"lang": code, "name": language_name(code, code)} for code in version.languages if code != version.lang]
    return render_template(
        "article.html",
        article=version,
        body=render_markdown(version.body),
        others=others,
        lang=version.lang,
        dir=text_direction(version.lang),
        lang_name=language_name(version.lang, version.lang),
    )
