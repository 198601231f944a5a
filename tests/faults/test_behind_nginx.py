"""docs/nginx.conf, as the README tells a production setup to use it, in front of a real
`answerdesk serve` (issue 14): HTTPS terminated by nginx, Secure cookies from X-Forwarded-Proto
(ANSWERDESK_TRUSTED_PROXIES=1), live updates passed through unbuffered, HTTP redirected."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import small_index
from tests.served import HOST, Served, free_port

pytestmark = pytest.mark.slow  # a real server process and nginx (tests/conftest.py SLOW_SECONDS)
CONFIG = Path(__file__).resolve().parents[2] / "docs" / "nginx.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@pytest.fixture
def proxied(tmp_path: Path, use_encoder: object) -> Iterator[tuple[int, int]]:
    if NGINX is None:
        pytest.fail("nginx is not installed: .ci/run installs the Debian package nginx-light")
    settings = small_index(tmp_path, use_encoder)
    env = {"ANSWERDESK_KB": settings.kb_dir, "ANSWERDESK_INDEX": settings.index_dir, "ANSWERDESK_DB": str(tmp_path / "a.db"),
           "ANSWERDESK_ENCODER": "use", "ANSWERDESK_TRUSTED_PROXIES": "1"}
    server = Served(env, tmp_path / "serve.log")
    http_port, https_port = free_port(), free_port()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=help.example.com",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    text = CONFIG.read_text(encoding="utf-8")
    for old, new in (("127.0.0.1:8080", f"{HOST}:{server.port}"), ("listen 80;", f"listen {HOST}:{http_port};"),
                     ("listen 443 ssl;", f"listen {HOST}:{https_port} ssl;"), ("worker_processes auto;", ""),
                     ("/etc/letsencrypt/live/help.example.com/fullchain.pem", str(cert)),
                     ("/etc/letsencrypt/live/help.example.com/privkey.pem", str(key))):
        assert old in text, f"docs/nginx.conf no longer has {old!r}: update this test with it"
        text = text.replace(old, new)
    conf = tmp_path / "nginx.conf"
    conf.write_text(text.replace("http {", f"http {{\n    access_log off;\n    client_body_temp_path {tmp_path}/body;\n"
                                 f"    proxy_temp_path {tmp_path}/proxy;\n", 1), encoding="utf-8")
    nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf), "-g",
                              f"daemon off; master_process off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/nginx.log;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"https://{HOST}:{https_port}/healthz", verify=False, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield http_port, https_port
    finally:
        nginx.terminate()
        nginx.wait(10)
        server.stop()


def test_the_documented_nginx_config_serves_https_with_secure_cookies_and_live_updates(proxied: tuple[int, int]) -> None:
    http_port, https_port = proxied
    assert httpx.get(f"http://{HOST}:{http_port}/", timeout=5).status_code == 301
    with httpx.Client(base_url=f"https://{HOST}:{https_port}", verify=False, timeout=10) as visitor:
        opened = visitor.post("/api/conversations", json={"lang": "en"})
        assert opened.status_code == 201
        assert "Secure" in opened.headers["set-cookie"]  # X-Forwarded-Proto believed from one trusted proxy
        conversation = opened.json()["id"]
        lines: list[str] = []
        ready = threading.Event()

        def listen() -> None:
            with httpx.Client(base_url=visitor.base_url, cookies=visitor.cookies, verify=False, timeout=20) as stream_client:
                with stream_client.stream("GET", f"/api/conversations/{conversation}/events") as response:
                    ready.set()
                    for line in response.iter_lines():
                        lines.append(line)
                        if "unbuffered please" in line:
                            return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert ready.wait(10)
        said = time.monotonic()
        assert visitor.post(f"/api/conversations/{conversation}/messages", json={"text": "unbuffered please"}).status_code == 200
        listener.join(10)
        assert any("unbuffered please" in line for line in lines)
        assert time.monotonic() - said < 5  # it came through as it happened, not when the stream ended (60 s)
