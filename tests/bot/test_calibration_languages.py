"""Calibration asks each example question as the engine would ask it: in the language it is written in."""

from pathlib import Path

from bot.config import Settings
from bot.reindex.run import reindex
from tests.conftest import write_article

# An English help center where the desk added customers' questions in German and Turkish.
ARTICLES = [
    ("reset-password", "How do I reset my password?", "Open Settings, choose Security and press Reset password.",
     ["I forgot my password", "Ich habe mein Passwort vergessen, wie setze ich es zurück?", "Şifremi unuttum, nasıl sıfırlarım?"]),
    ("refunds", "Can I get my money back for an order?", "Return any item within 30 days for a full refund.",
     ["I want a refund", "Wie bekomme ich mein Geld für eine Bestellung zurück?", "Siparişim için paramı geri alabilir miyim?"]),
    ("delivery", "When will my parcel arrive?", "Parcels arrive in two to four days; the tracking link is in your e-mail.",
     ["where is my package", "Wann kommt mein Paket an? Ich warte schon lange.", "Kargom ne zaman gelecek, hâlâ bekliyorum?"]),
    ("invoice", "Where do I find my invoice?", "Invoices are under Account, Orders: press Download next to the order.",
     ["I need a receipt", "Wo finde ich die Rechnung für meine Bestellung?", "Faturamı nereden indirebilirim?"]),
]


def test_example_questions_in_other_languages_are_calibrated_as_those_languages(tmp_path: Path, real_encoders) -> None:
    kb = tmp_path / "kb"
    for article_id, title, body, questions in ARTICLES:
        write_article(kb, "en", article_id, title, body, questions)
    settings = Settings(kb_dir=str(kb), index_dir=str(tmp_path / "index"), encoder="e5+use")
    per_language = reindex(settings, encoder=real_encoders).calibration.per_language
    # Every article is English, yet its German and Turkish questions are counted (and searched) as such.
    assert per_language["de"]["covered_questions"] == 4
    assert per_language["tr"]["covered_questions"] == 4
    assert per_language["en"]["covered_questions"] >= 4  # the English questions, and titles
