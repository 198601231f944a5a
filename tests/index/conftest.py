import pytest

import index.classifier


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of examples of each logistic-regression fit actually run (cached models are not)."""
    calls: list[int] = []
    fit = index.classifier._fit
    monkeypatch.setattr(index.classifier, "_fit", lambda vectors, labels: calls.append(len(labels)) or fit(vectors, labels))
    return calls
