from collections.abc import Iterator

import pytest

from bot.language import LanguageDetector, fold_text, parse_language_hint

SERVED = ["en", "ar", "tr", "es"]


@pytest.fixture(scope="module")
def detector() -> Iterator[LanguageDetector]:
    yield LanguageDetector(SERVED)


@pytest.fixture(scope="module")
def lingua_detector() -> Iterator[LanguageDetector]:
    yield LanguageDetector(SERVED, backend="lingua")


@pytest.mark.parametrize(
    ("raw", "allowed", "expected"),
    [
        ("tr-TR", ["en", "tr"], "tr"),
        ("pt_BR", ["pt", "en"], "pt"),
        ("pt-br", ["pt"], "pt"),
        ("ar,en;q=0.8", ["en", "ar"], "ar"),
        ("fr-FR,fr;q=0.9,es;q=0.8,en;q=0.7", ["en", "es"], "es"),
        ("en;q=0.5, tr;q=0.9", ["en", "tr"], "tr"),
        ("de;q=0, en", ["de", "en"], "en"),
        ("tr_TR.UTF-8", ["tr"], "tr"),
        ("sr_RS@latin", ["sr"], "sr"),
        ("hr", ["sr", "en"], "sr"),
        ("iw", ["he"], "he"),
        ("fr", ["en"], None),
        ("*", ["en"], None),
        ("", ["en"], None),
        (None, ["en"], None),
        ("not a language!", ["en"], None),
    ],
)
def test_parse_language_hint(raw: str | None, allowed: list[str], expected: str | None) -> None:
    assert parse_language_hint(raw, allowed) == expected


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("hi", "en"),
        ("I want a human", "en"),
        ("Merhaba", "tr"),
        ("merhabalar", "tr"),
        ("salam", "ar"),
        ("hola", "es"),
        ("gracias", "es"),
        ("شكرا", "ar"),
        ("teşekkürler", "tr"),
        ("How do I reset my password?", "en"),
        ("Şifremi unuttum, nasıl sıfırlarım?", "tr"),
        ("¿Cómo puedo cambiar mi contraseña?", "es"),
        ("كيف يمكنني تغيير كلمة المرور؟", "ar"),
        ("أريد إلغاء اشتراكي في Netflix Premium", "ar"),
    ],
)
def test_short_and_plain_messages(detector: LanguageDetector, text: str, lang: str) -> None:
    assert detector.detect(text).lang == lang


def test_langdetect_alone_gets_these_wrong_and_we_do_not(detector: LanguageDetector) -> None:
    assert [detector.detect(t).lang for t in ("hi", "I want a human", "Merhaba")] == ["en", "en", "tr"]


@pytest.mark.parametrize("text", ["ok", "thanks", "👍", "12345", "https://example.com/order/42", "?!", ""])
def test_ambiguous_text_follows_the_hint(detector: LanguageDetector, text: str) -> None:
    decision = detector.detect(text, hint="tr-TR")
    assert (decision.lang, decision.source) == ("tr", "hint")


def test_accept_language_header_is_a_hint(detector: LanguageDetector) -> None:
    assert detector.detect("👍", hint="ar,en;q=0.8").lang == "ar"


def test_history_beats_hint_on_ambiguous_text(detector: LanguageDetector) -> None:
    decision = detector.detect("ok", hint="en-US", history=["tr", "es"])
    assert (decision.lang, decision.source) == ("es", "history")


def test_a_lone_thanks_word_does_not_switch_the_conversation(detector: LanguageDetector) -> None:
    assert detector.detect("gracias", history=["en"]).lang == "en"


def test_clear_text_overrides_hint_and_history(detector: LanguageDetector) -> None:
    text = "Siparişim üç gündür kargoda görünüyor, ne zaman teslim edilecek?"
    decision = detector.detect(text, hint="en", history=["en"])
    assert (decision.lang, decision.source) == ("tr", "detector")


def test_without_anything_to_go_on_we_use_the_default(detector: LanguageDetector) -> None:
    decision = detector.detect("👍👍")
    assert (decision.lang, decision.source) == ("en", "default")


def test_unserved_script_falls_back(detector: LanguageDetector) -> None:
    assert detector.detect("Привет, как дела?", hint="es").lang == "es"
    assert detector.detect("Привет, как дела?").lang == "en"


def test_decisions_stay_in_the_allowed_set(detector: LanguageDetector) -> None:
    for text in ("Hallo, wie geht es dir?", "Ciao, come stai?", "Bonjour tout le monde", "こんにちは"):
        assert detector.detect(text).lang in SERVED


def test_extra_languages_are_recognised() -> None:
    wide = LanguageDetector(["en"], extra=["de", "fr"])
    assert wide.detect("Ich habe mein Passwort vergessen, was kann ich tun?").lang == "de"
    assert wide.detect("J'ai oublié mon mot de passe, que dois-je faire ?").lang == "fr"


@pytest.mark.parametrize(
    ("text", "served", "lang"),
    [
        ("Сәлеметсіз бе, тапсырысым қайда?", ["ru", "kk"], "kk"),
        ("Здравствуйте, где мой заказ?", ["ru", "kk"], "ru"),
        ("Где мой заказ?", ["kk", "en"], "kk"),
        ("Где мой заказ?", ["sr", "ru"], "ru"),
        ("Ђе је моја поруџбина?", ["sr", "ru"], "sr"),
        ("Де моє замовлення? Дякую", ["ru", "uk"], "uk"),
        ("注文した商品はいつ届きますか", ["zh", "ja"], "ja"),
        ("我的订单什么时候到", ["zh", "ja"], "zh"),
        ("주문이 언제 도착하나요?", ["ko", "en"], "ko"),
        ("سفارش من کی می‌رسد؟", ["ar", "fa"], "fa"),
        ("متى يصل طلبي؟", ["ar", "fa"], "ar"),
        ("سفارش من کی می‌رسد؟", ["ar", "en"], "ar"),
        ("Πότε θα φτάσει η παραγγελία μου;", ["el", "en"], "el"),
        ("ההזמנה שלי לא הגיעה", ["he", "en"], "he"),
        ("คำสั่งซื้อของฉันอยู่ที่ไหน", ["th", "en"], "th"),
    ],
)
def test_script_decides(text: str, served: list[str], lang: str) -> None:
    decision = LanguageDetector(served).detect(text)
    assert decision.lang == lang


def test_serbian_latin_is_read_through_croatian_when_only_serbian_is_served() -> None:
    detector = LanguageDetector(["sr", "en", "de"])
    assert detector.detect("Da li mogu da promenim adresu za dostavu?").lang == "sr"


def test_detection_is_deterministic(detector: LanguageDetector) -> None:
    text = "tamam teşekkürler ama siparişim nerede"
    first = detector.detect(text)
    assert all(detector.detect(text) == first for _ in range(5))
    assert LanguageDetector(SERVED).detect(text) == first


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("hi", "en"),
        ("Merhaba", "tr"),
        ("I want a human", "en"),
        ("¿Dónde está mi pedido?", "es"),
        ("مرحبا", "ar"),
    ],
)
def test_lingua_backend(lingua_detector: LanguageDetector, text: str, lang: str) -> None:
    assert lingua_detector.detect(text).lang == lang


def test_unknown_backend_names_the_setting() -> None:
    with pytest.raises(ValueError, match="ANSWERDESK_LANG_BACKEND.*langdetect, lingua"):
        LanguageDetector(["en"], backend="fasttext")


def test_bad_language_code_is_named() -> None:
    with pytest.raises(ValueError, match="'english!'"):
        LanguageDetector(["english!"])


def test_decision_fields(detector: LanguageDetector) -> None:
    decision = detector.detect("Where is my order? It has been a week.")
    assert decision.lang == "en"
    assert 0.0 <= decision.confidence <= 1.0
    assert decision.source in {"script", "lexicon", "detector", "hint", "history", "default"}


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("İSTANBUL ışık", "istanbul isik"),
        ("Teşekkürler", "tesekkurler"),
        ("أَحْمَد", "احمد"),
        ("إلى مدرسة", "الي مدرسه"),
        ("شكـــرا", "شكرا"),
        ("Straße", "strasse"),
    ],
)
def test_fold_text(text: str, folded: str) -> None:
    assert fold_text(text) == folded
