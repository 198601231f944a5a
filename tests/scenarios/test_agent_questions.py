"""Questions about agents reach the feedback article; requests for an agent still hand off.

The KB is the demo help center's articles on reaching a person, feedback, opening hours and
chat history, in en, tr, ar and es: the contact article shares every agent word with these
questions, which is what pulled them to it.
"""

import shutil
from pathlib import Path

import pytest

from bot.config import Settings
from bot.answer.engine import Engine, Inbound
from bot.reindex.run import reindex
from index.search import LiveIndex

pytestmark = pytest.mark.slow  # over 10 s on 2 cores (tests/conftest.py SLOW_SECONDS)

DEMO = Path(__file__).parents[2] / "kb_source"
ARTICLES = ["contact-a-person", "feedback-and-surveys", "opening-hours", "chat-history-and-context", "chatbot-handoff-to-human"]

# (language, a question about rating or thanking an agent, a request for one)
PAIRS = [
    ("en", "how do I rate the agent?", "I want to talk to a person"),
    ("en", "I'd like to thank the operator who helped me", "can you connect me with an agent?"),
    ("tr", "müşteri temsilcisini nasıl puanlarım", "bir insanla konuşmak istiyorum"),
    ("tr", "temsilciyi nasıl değerlendirebilirim", "müşteri temsilcisine bağlar mısınız"),
    ("ar", "كيف اقيم الموظف بعد المحادثة", "أريد التحدث إلى شخص"),
    ("ar", "اريد ان اشكر الموظف", "حولني على موظف لو سمحت"),
    ("es", "¿cómo califico al agente?", "quiero hablar con una persona"),
    ("es", "quiero valorar al asesor que me atendió", "¿me pasas con un agente?"),
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, real_encoders) -> Engine:
    root = tmp_path_factory.mktemp("agents")
    for lang in ("en", "tr", "ar", "es"):
        (root / "kb" / lang).mkdir(parents=True)
        for article in ARTICLES:
            if (DEMO / lang / f"{article}.md").exists():  # some articles are in en and ar only
                    shutil.copy(DEMO / lang / f"{article}.md", root / "kb" / lang / f"{article}.md")
    settings = Settings(kb_dir=str(root / "kb"), index_dir=str(root / "index"))
    reindex(settings, encoder=real_encoders)
    return Engine(settings, real_encoders, LiveIndex(settings.index_dir))


@pytest.mark.parametrize(("lang", "question", "request_"), PAIRS)
def test_a_question_about_an_agent_gets_the_feedback_article_and_a_request_hands_off(engine: Engine, lang: str, question: str, request_: str) -> None:
    asked = engine.respond(Inbound(question, lang_hint=lang))
    assert asked.decision.action == "answer" and asked.decision.article_id == "feedback-and-surveys", asked.decision
    requested = engine.respond(Inbound(request_, lang_hint=lang))
    assert requested.decision.action == "handoff" and requested.decision.reason == "asked_for_person"
