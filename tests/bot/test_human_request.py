import pytest

from bot.answer.human_request import asks_for_human, normalize, rules

POSITIVE = [
    ("talk to a human", "en"),
    ("I want to speak to an agent", "en"),
    ("can I talk to someone real", "en"),
    ("Can I speak to a manager please?", "en"),
    ("connect me with a human", "en"),
    ("I need a real person", "en"),
    ("agent", "en"),
    ("operator", "en"),
    ("HUMAN!!", "en"),
    ("live agent pls", "en"),
    ("/human", "en"),
    ("أريد التحدث مع موظف", "ar"),
    ("ممكن أكلم موظف خدمة العملاء؟", "ar"),
    ("ابي موظف", "ar"),
    ("حولني على موظف لو سمحت", "ar"),
    ("temsilciye bağla", "tr"),
    ("canlı destek", "tr"),
    ("Bir temsilciyle görüşmek istiyorum", "tr"),
    ("GERÇEK BİR İNSANLA KONUŞABİLİR MİYİM", "tr"),
    ("Müşteri hizmetlerine bağlar mısınız?", "tr"),
    ("quiero hablar con una persona", "es"),
    ("agente por favor", "es"),
    ("¿Puedo hablar con un asesor?", "es"),
    ("Pásame con un operador", "es"),
    ("Ich möchte mit einem Mitarbeiter sprechen", "de"),
    ("Je voudrais parler à un conseiller", "fr"),
    ("Vorrei parlare con un operatore", "it"),
    ("Ik wil met een medewerker praten", "nl"),
    ("Jeg vil gerne tale med en medarbejder", "da"),
    ("Saya mau bicara dengan agen", "id"),
    ("Соедините меня с оператором", "ru"),
    ("我要转人工", "zh"),
    ("オペレーターと話したいです", "ja"),
    ("Операторға қосыңыз", "kk"),
]

NEGATIVE = [
    ("What is a support agent's job?", "en"),
    ("How many agents do you have?", "en"),
    ("What does customer support mean?", "en"),
    ("How fast do your agents answer?", "en"),
    ("Do your agents speak Spanish?", "en"),
    ("How do I hand off a chat to a human agent in your product?", "en"),
    ("I talked to someone yesterday about my refund", "en"),
    ("How do I reset my password?", "en"),
    ("hi", "en"),
    ("ما هي وظيفة موظف الدعم؟", "ar"),
    ("كم عدد الموظفين لديكم؟", "ar"),
    ("كيف أغير كلمة المرور؟", "ar"),
    ("Temsilcilerinizin işi nedir?", "tr"),
    ("Kaç temsilciniz var?", "tr"),
    ("Temsilcileriniz ne kadar hızlı cevap veriyor?", "tr"),
    ("İnsan kaynakları departmanı", "tr"),
    ("¿Qué es un agente de soporte?", "es"),
    ("¿Cuántos agentes tienen?", "es"),
    ("¿Qué tan rápido responden sus agentes?", "es"),
    ("¿Hablan español sus agentes?", "es"),
    ("你们用人工智能吗", "zh"),
]


# The same person word, once as the one to rate, thank or complain about, once as the one asked for.
SPLIT = [
    ("en", "how do I rate the agent?", "can you connect me with an agent?"),
    ("en", "rate agent", "agent please"),
    ("en", "where can I leave feedback about the representative", "i would like to speak to a representative"),
    ("tr", "müşteri temsilcisini nasıl puanlarım", "müşteri temsilcisine nasıl bağlanırım"),
    ("tr", "temsilciyi değerlendir", "temsilciye bağla"),
    ("tr", "yetkili hakkında şikayette bulunmak istiyorum", "yetkili biriyle görüşmek istiyorum"),
    ("ar", "كيف اقيم الموظف بعد المحادثة", "كيف اكلم الموظف بعد المحادثة"),
    ("ar", "تقييم الموظف", "موظف لو سمحت"),
    ("ar", "ابي اشتكي على الموظف", "ابي اكلم الموظف"),
    ("es", "¿Cómo califico al agente?", "¿Cómo hablo con un agente?"),
    ("es", "calificar agente", "agente por favor"),
    ("es", "quiero dejar una queja sobre el asesor", "quiero hablar con un asesor"),
]

# Questions about agents: how, where or whether to rate, review, thank or complain about one, what
# agents do, how many there are. The knowledge base answers these (its feedback article).
AGENT_QUESTIONS = [
    ("How can I rate my chat with an agent?", "en"),
    ("can I review the support agent", "en"),
    ("how do i complain about an agent", "en"),
    ("how do I file a complaint against an agent", "en"),
    ("I'd like to thank the operator who helped me", "en"),
    ("how do I give feedback on my conversation with the agent", "en"),
    ("Is there a way to evaluate the person I spoke to?", "en"),
    ("how to report a rude agent", "en"),
    ("agent rating", "en"),
    ("what do your agents do all day", "en"),
    ("musteri temsilcisini nasil puanlarim", "tr"),
    ("TEMSİLCİYİ NASIL PUANLARIM", "tr"),
    ("temsilciyi nasıl değerlendirebilirim", "tr"),
    ("temsilciye nasil puan veririm", "tr"),
    ("görüştüğüm temsilciyi puanlamak istiyorum", "tr"),
    ("temsilciye teşekkür etmek istiyorum", "tr"),
    ("temsilciden memnun kalmadım", "tr"),
    ("canlı desteği nasıl değerlendiririm", "tr"),
    ("temsilci puanı", "tr"),
    ("temsilciler ne yapar", "tr"),
    ("كيف أقيّم الموظف؟", "ar"),
    ("ابي اقيم الموظف", "ar"),
    ("وين اقدر اعطي تقييم للموظف", "ar"),
    ("كيف اقيم التواصل مع الموظف", "ar"),
    ("كيف يمكنني تقييم محادثتي مع الموظف؟", "ar"),
    ("اريد ان اشكر الموظف", "ar"),
    ("شكرا للموظف", "ar"),
    ("أريد تقديم شكوى ضد موظف", "ar"),
    ("ماذا يفعل موظف خدمة العملاء؟", "ar"),
    ("como califico al agente", "es"),
    ("¿Dónde puedo evaluar al asesor?", "es"),
    ("¿Cómo puedo valorar mi chat con un agente?", "es"),
    ("¿Puedo valorar la atención del representante?", "es"),
    ("quiero agradecer al operador", "es"),
    ("¿Cómo me quejo de un agente?", "es"),
    ("opinión sobre el agente", "es"),
    ("dar las gracias al agente", "es"),
    ("¿Qué hace un asesor?", "es"),
    ("Como avalio o atendente?", "pt"),
    ("Wie kann ich den Mitarbeiter bewerten?", "de"),
    ("Ich möchte mich über den Mitarbeiter beschweren", "de"),
    ("Comment noter le conseiller ?", "fr"),
    ("Come valuto l'operatore?", "it"),
    ("Hoe beoordeel ik de medewerker?", "nl"),
    ("Hvordan bedømmer jeg medarbejderen?", "da"),
    ("bagaimana cara menilai agen", "id"),
    ("Как оценить оператора?", "ru"),
    ("Операторды қалай бағалаймын", "kk"),
    ("如何给客服打分", "zh"),
    ("オペレーターを評価するには", "ja"),
]

# Requests typed the way customers type: lower case, without diacritics or hamza, telegraphic.
MORE_REQUESTS = [
    ("can i speak with a real person", "en"),
    ("i want to talk to someone", "en"),
    ("get me a human please", "en"),
    ("transfer me to customer service", "en"),
    ("pls connect me to an agent", "en"),
    ("put me through to an operator", "en"),
    ("temsilciye baglar misiniz", "tr"),
    ("canli destege baglanmak istiyorum", "tr"),
    ("bir insanla konusmak istiyorum", "tr"),
    ("yetkili biriyle gorusebilir miyim", "tr"),
    ("musteri hizmetlerine aktarin", "tr"),
    ("temsilci istiyorum", "tr"),
    ("operatore bagla", "tr"),
    ("ابي اكلم موظف", "ar"),
    ("ابغى اتكلم مع موظف", "ar"),
    ("حولني لموظف", "ar"),
    ("ممكن اتواصل مع خدمه العملاء", "ar"),
    ("بدي احكي مع موظف", "ar"),
    ("وصلني بموظف", "ar"),
    ("اريد التحدث مع شخص حقيقي", "ar"),
    ("quiero hablar con un agente", "es"),
    ("necesito hablar con una persona real", "es"),
    ("pasame con un humano", "es"),
    ("me pueden comunicar con un asesor", "es"),
    ("quiero un agente", "es"),
    ("atencion al cliente", "es"),
    ("necesito un asesor", "es"),
    ("quero falar com um atendente, obrigado", "pt"),
    ("Соедините с оператором, пожалуйста", "ru"),
]

# Feedback on one agent next to a request for a person: the request still counts.
FEEDBACK_AND_REQUEST = [
    ("I want to complain about the agent, let me talk to a manager", "en"),
    ("complaint, agent please", "en"),
    ("thanks, connect me to an agent", "en"),
    ("temsilciden şikayetçiyim, yetkiliye bağlar mısınız", "tr"),
    ("temsilciye bağlayın teşekkürler", "tr"),
    ("temsilci istiyorum şikayetim var", "tr"),
    ("ابي اشتكي على الموظف حولني لموظف ثاني", "ar"),
    ("عندي شكوى ابي اكلم المدير", "ar"),
    ("اريد تقييم الخدمة، اريد التحدث مع موظف", "ar"),
    ("tengo una queja del agente, quiero hablar con un supervisor", "es"),
    ("quiero poner una queja, pasame con un asesor", "es"),
    ("Ich will mich beschweren, verbinden Sie mich mit einem Mitarbeiter", "de"),
    ("我要投诉 转人工", "zh"),
    ("オペレーターにつないでください、苦情です", "ja"),
]


@pytest.mark.parametrize(("text", "lang"), POSITIVE)
def test_requests_for_a_person(text: str, lang: str) -> None:
    assert asks_for_human(text, lang)
    assert asks_for_human(text)


@pytest.mark.parametrize(("text", "lang"), NEGATIVE)
def test_questions_about_people_are_not_requests(text: str, lang: str) -> None:
    assert not asks_for_human(text, lang)
    assert not asks_for_human(text)


def test_english_words_count_in_any_conversation() -> None:
    assert asks_for_human("human please", "tr")


def test_unknown_language_checks_every_language() -> None:
    assert asks_for_human("temsilciye bağla", "fi")


def test_empty_text() -> None:
    assert not asks_for_human("")
    assert not asks_for_human("   ?! ")


def test_normalize() -> None:
    assert normalize("CANLI DESTEĞE bağla!") == "canli destege bagla"
    assert normalize("أُرِيدُ مُوَظَّفًا") == "اريد موظفا"
    assert normalize("/human") == "/human"


@pytest.mark.parametrize(("lang", "question", "asking"), SPLIT)
def test_an_agent_talked_about_is_not_an_agent_asked_for(lang: str, question: str, asking: str) -> None:
    assert not asks_for_human(question, lang)
    assert asks_for_human(asking, lang)


@pytest.mark.parametrize(("text", "lang"), AGENT_QUESTIONS)
def test_questions_about_an_agent_are_not_requests(text: str, lang: str) -> None:
    assert not asks_for_human(text, lang)
    assert not asks_for_human(text)


@pytest.mark.parametrize(("text", "lang"), MORE_REQUESTS + FEEDBACK_AND_REQUEST)
def test_requests_typed_loosely_or_next_to_feedback(text: str, lang: str) -> None:
    assert asks_for_human(text, lang)
    assert asks_for_human(text)


@pytest.mark.parametrize(
    ("lang", "written", "typed", "asks"),
    [
        ("tr", "Müşteri temsilcisini nasıl puanlarım?", "musteri temsilcisini nasil puanlarim", False),
        ("tr", "Temsilciyi şikâyet etmek istiyorum", "temsilciyi sikayet etmek istiyorum", False),
        ("tr", "Temsilciye bağlar mısınız?", "temsilciye baglar misiniz", True),
        ("tr", "Canlı desteğe bağlanmak istiyorum", "canli destege baglanmak istiyorum", True),
        ("ar", "كيف أقيّم الموظف؟", "كيف اقيم الموظف", False),
        ("ar", "أبي أكلّم موظفاً", "ابي اكلم موظفا", True),
        ("es", "¿Cómo califico al agente?", "como califico al agente", False),
    ],
)
def test_typing_without_diacritics_changes_nothing(lang: str, written: str, typed: str, asks: bool) -> None:
    assert normalize(written) == normalize(typed)
    assert asks_for_human(written, lang) == asks_for_human(typed, lang) == asks


def test_every_language_binds_feedback_to_its_agent_words() -> None:
    missing = [lang for lang, table in rules().items() if table.requests and not table.feedback and lang != "any"]
    assert not missing, f"add `feedback` patterns to bot/phrases/human_requests.toml for {missing}"


@pytest.mark.parametrize(("lang", "about", "request_"), SPLIT)
def test_a_message_about_an_agent_names_the_feedback_topic_and_a_request_does_not(lang: str, about: str, request_: str) -> None:
    from bot.answer.human_request import feedback_topic, rules

    assert feedback_topic(about, lang) == rules()[lang].feedback_topic != ""
    assert feedback_topic(request_, lang) == ""


def test_every_language_with_feedback_patterns_names_its_feedback_topic() -> None:
    from bot.answer.human_request import rules

    assert all(r.feedback_topic for r in rules().values() if r.feedback), [lang for lang, r in rules().items() if r.feedback and not r.feedback_topic]
