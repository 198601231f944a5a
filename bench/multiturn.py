"""Follow-ups and new topics: two-turn conversations over the demo KB in en, tr, ar and es.

The transcripts below were written for this benchmark (not taken from any data set) before it
was first run, and have not been changed to suit the engine. Each is a first question and a
second message: a follow-up that names no topic alone ("and on Saturday?"), or a new topic
that must not be glued to the old one. Three ways to read the second message, through the real
engine after a real reindex of kb_source/:
- engine: as the desk hands it over, with the conversation's last question (the shipped path);
- alone: the message without its history;
- always joined: the last question and the message searched as one text, every time.
Figures: the share of second messages answered with the expected article (action "answer").
Usage: python bench/multiturn.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from common import REPO, progress, table  # noqa: E402

from bot.config import Settings
from bot.answer.engine import Engine, Inbound, message_encoders
from bot.answer.follow_up import joined
from bot.reindex.run import reindex
from index.search import LiveIndex

FOLLOW_UP, NEW_TOPIC = "follow-up", "new topic"

# (language, kind, first question, its article, second message, its article)
TRANSCRIPTS = [
    ("en", FOLLOW_UP, "When are you open?", "opening-hours", "and on Saturday?", "opening-hours"),
    ("en", FOLLOW_UP, "How fast do you answer e-mails?", "response-times", "and on chat?", "response-times"),
    ("en", FOLLOW_UP, "Do you keep my chat history?", "privacy-and-chat-history", "for how long?", "privacy-and-chat-history"),
    ("en", FOLLOW_UP, "Which languages do you support?", "languages-served", "what about German?", "languages-served"),
    ("en", NEW_TOPIC, "When are you open?", "opening-hours", "Can I delete my chat history?", "privacy-and-chat-history"),
    ("en", NEW_TOPIC, "Which languages do you support?", "languages-served", "I want to give feedback", "feedback-and-surveys"),
    ("tr", FOLLOW_UP, "Çalışma saatleriniz nedir?", "opening-hours", "peki pazar günü?", "opening-hours"),
    ("tr", FOLLOW_UP, "E-postalara ne kadar sürede cevap veriyorsunuz?", "response-times", "ya canlı sohbette?", "response-times"),
    ("tr", FOLLOW_UP, "Sohbet geçmişimi saklıyor musunuz?", "privacy-and-chat-history", "ne kadar süreyle?", "privacy-and-chat-history"),
    ("tr", FOLLOW_UP, "Hangi dillerde destek veriyorsunuz?", "languages-served", "Almanca da var mı?", "languages-served"),
    ("tr", NEW_TOPIC, "Çalışma saatleriniz nedir?", "opening-hours", "Sohbet geçmişimi silebilir miyim?", "privacy-and-chat-history"),
    ("tr", NEW_TOPIC, "Hangi dillerde destek veriyorsunuz?", "languages-served", "Geri bildirim vermek istiyorum", "feedback-and-surveys"),
    ("ar", FOLLOW_UP, "ما هي ساعات العمل؟", "opening-hours", "وماذا عن يوم الجمعة؟", "opening-hours"),
    ("ar", FOLLOW_UP, "كم تستغرقون للرد على البريد الإلكتروني؟", "response-times", "وفي الدردشة؟", "response-times"),
    ("ar", FOLLOW_UP, "هل تحتفظون بسجل محادثاتي؟", "privacy-and-chat-history", "لأي مدة؟", "privacy-and-chat-history"),
    ("ar", FOLLOW_UP, "ما اللغات التي تدعمونها؟", "languages-served", "والألمانية؟", "languages-served"),
    ("ar", NEW_TOPIC, "ما هي ساعات العمل؟", "opening-hours", "هل يمكنني حذف سجل محادثاتي؟", "privacy-and-chat-history"),
    ("ar", NEW_TOPIC, "ما اللغات التي تدعمونها؟", "languages-served", "أريد تقديم ملاحظات", "feedback-and-surveys"),
    ("es", FOLLOW_UP, "¿Cuál es su horario?", "opening-hours", "¿y los domingos?", "opening-hours"),
    ("es", FOLLOW_UP, "¿Cuánto tardan en responder un correo?", "response-times", "¿y por chat?", "response-times"),
    ("es", FOLLOW_UP, "¿Guardan mi historial de chat?", "privacy-and-chat-history", "¿durante cuánto tiempo?", "privacy-and-chat-history"),
    ("es", FOLLOW_UP, "¿En qué idiomas atienden?", "languages-served", "¿y en alemán?", "languages-served"),
    ("es", NEW_TOPIC, "¿Cuál es su horario?", "opening-hours", "¿Puedo borrar mi historial de chat?", "privacy-and-chat-history"),
    ("es", NEW_TOPIC, "¿En qué idiomas atienden?", "languages-served", "Quiero dar mi opinión", "feedback-and-surveys"),
]
READINGS = ("engine", "alone", "always joined")


def answered(engine: Engine, message: Inbound, expected: str) -> bool:
    decision = engine.respond(message).decision
    return decision.action == "answer" and decision.article_id == expected


def main() -> None:
    settings = Settings()
    encoders = message_encoders(settings)
    right: dict[tuple[str, str, str], list[bool]] = defaultdict(list)
    first_right: dict[str, list[bool]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        kb = Path(shutil.copytree(REPO / "kb_source", Path(tmp) / "kb"))
        run = Settings(kb_dir=str(kb), index_dir=str(Path(tmp) / "index"), encoder=settings.encoder)
        print("indexing the demo KB...", file=sys.stderr)
        reindex(run, encoder=encoders, show_progress=False)
        engine = Engine(run, encoders, LiveIndex(run.index_dir))
        for n, (lang, kind, first, first_article, second, article) in enumerate(TRANSCRIPTS, 1):
            first_right[lang].append(answered(engine, Inbound(first, lang_hint=lang), first_article))
            readings = {
                "engine": Inbound(second, lang_hint=lang, history_langs=(lang,), history_texts=(first,)),
                "alone": Inbound(second, lang_hint=lang),
                "always joined": Inbound(joined(first, second), lang_hint=lang),
            }
            for reading, message in readings.items():
                right[(reading, kind, lang)].append(answered(engine, message, article))
            progress("conversations", n, len(TRANSCRIPTS))
    langs = list(dict.fromkeys(t[0] for t in TRANSCRIPTS))

    def share(flags: list[bool]) -> str:
        return f"{sum(flags)}/{len(flags)}"

    for kind in (FOLLOW_UP, NEW_TOPIC):
        rows = []
        for reading in READINGS:
            cells = [share(right[(reading, kind, lang)]) for lang in langs]
            everything = [flag for lang in langs for flag in right[(reading, kind, lang)]]
            rows.append((reading, *cells, f"{sum(everything) / len(everything):.3f}"))
        table(f"Second message answered with the expected article: {kind}s", ["reading", *langs, "all"], rows)
    table("First questions answered right (the conversations' starting point)", ["lang", "answered right"],
          [(lang, share(first_right[lang])) for lang in langs])


if __name__ == "__main__":
    main()
