import pytest

from bot.human_request import asks_for_human, normalize

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
