"""/healthz tells the truth about the store: 503 with the reason while writes fail, 200 after."""

from __future__ import annotations

from pathlib import Path

from tests.bot.test_store_recovery import Worker, read_only
from tests.channels.web.conftest import Web


def test_healthz_is_503_with_the_reason_while_the_store_cannot_be_written(web: Web) -> None:
    store = web.desk.store
    store.health_probe.every = 0  # type: ignore[attr-defined]
    client = web.client()
    # No /healthz before the episode: its probe's closed connection leaves SQLite a writable
    # descriptor to hand the next connection, which then writes even to a read-only file.
    thread = Worker()  # a request thread of the server, opened while the file is read-only
    try:
        with read_only(Path(store.path)):  # type: ignore[attr-defined]
            assert thread.call(lambda: web.client().post("/api/conversations").status_code) == 503
            response = client.get("/healthz")
            assert response.status_code == 503 and response.headers["Retry-After"] == "2"
            body = response.get_json()
            assert body["status"] == "unavailable" and "readonly" in body["error"] and "writable" in body["error"]
        # The cause is gone: the same thread writes again (a new connection), and /healthz is 200.
        assert thread.call(lambda: web.client().post("/api/conversations").status_code) == 201
        response = client.get("/healthz")
        assert response.status_code == 200 and response.get_json()["store"] == "ok"
    finally:
        thread.stop()


def test_healthz_probes_the_store_at_most_every_two_seconds(web: Web) -> None:
    probes: list[int] = []
    database = web.desk.store.database  # type: ignore[attr-defined]
    real = database.probe
    database.probe = lambda: probes.append(1) or real()
    client = web.client()
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
    assert len(probes) <= 1
