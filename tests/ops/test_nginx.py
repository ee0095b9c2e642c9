"""The nginx site in config/ is valid (`nginx -t`) and, run for real on local ports with no app
behind it, answers with the static maintenance page; TLS 1.3 only, static files cached, gzip."""

from __future__ import annotations

import gzip
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(
    not Path(NGINX).exists() and not os.environ.get("OPS_REQUIRED"),
    reason="nginx is not installed (make test installs it from Debian)",
)


def free_ports(count: int) -> list[int]:
    """Distinct free ports: every socket stays bound until all are chosen, so the kernel cannot
    hand the same port out twice (it did once: nginx then proxied the app's part to itself)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def self_signed(folder: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chat.mehhost.ru")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=7))
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True)
    (folder / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """config/nginx/mehhost.conf with its paths and ports moved into a temporary prefix."""
    prefix = tmp_path_factory.mktemp("nginx")
    self_signed(prefix / "certs")
    (prefix / "logs").mkdir()
    (prefix / "maintenance").mkdir()
    shutil.copy(ROOT / "config/maintenance/maintenance.html", prefix / "maintenance")
    ports = dict(zip(("http", "https", "node", "app"), free_ports(4), strict=True))
    text = (ROOT / "config/nginx/mehhost.conf").read_text()
    for old, new in {
        "/etc/letsencrypt/live/chat.mehhost.ru/": f"{prefix}/certs/",
        "/etc/nginx/snippets/mehhost-proxy.conf": str(ROOT / "config/nginx/mehhost-proxy.conf"),
        "/var/www/mehhost-maintenance": f"{prefix}/maintenance",
        "/var/www/letsencrypt": f"{prefix}/acme",
        "/opt/mehhost/webapp/static/": f"{ROOT}/webapp/static/",
        "/var/log/nginx/": f"{prefix}/logs/",
        "listen 80;": f"listen 127.0.0.1:{ports['http']};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{ports['https']} ssl http2;",
        "listen 8443 ssl http2;": f"listen 127.0.0.1:{ports['node']} ssl http2;",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{ports['app']};",  # nothing listens
    }.items():
        assert old in text, old
        text = text.replace(old, new)
    text = "\n".join(line for line in text.splitlines() if "listen [::]" not in line)
    (prefix / "site.conf").write_text(text)
    user = "user root;" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(
        f"""{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/site.conf;
}}
"""
    )
    return prefix, ports


def test_nginx_accepts_the_site_configuration(site):
    prefix, _ports = site
    checked = subprocess.run(
        [NGINX, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr


@pytest.fixture(scope="module")
def running(site):
    prefix, ports = site
    process = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", ports["https"])) == 0:
                break
        time.sleep(0.05)
    yield ports
    process.terminate()
    process.wait(timeout=10)


def tls(maximum=None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if maximum:
        context.maximum_version = maximum
    return context


def fetch(url: str, headers=None, context=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        response = urllib.request.urlopen(request, context=context or tls(), timeout=5)
    except urllib.error.HTTPError as error:
        response = error
    return response.status, dict(response.headers), response.read()


def test_with_the_app_stopped_every_page_shows_the_maintenance_page(running):
    for path in ("/", "/chat/7", "/login"):
        status, headers, body = fetch(f"https://127.0.0.1:{running['https']}{path}")
        assert status == 502
        page = body.decode()
        assert "Идут технические работы" in page and "<script" not in page
        assert headers["Cache-Control"] == "no-store"


def test_only_tls_1_3_is_offered(running):
    with pytest.raises((ssl.SSLError, urllib.error.URLError)):
        urllib.request.urlopen(
            f"https://127.0.0.1:{running['https']}/",
            context=tls(maximum=ssl.TLSVersion.TLSv1_2),
            timeout=5,
        )


def test_static_files_are_cached_for_a_year_and_compressed(running):
    css = next((ROOT / "webapp/static/css").glob("*.css"))
    status, headers, body = fetch(
        f"https://127.0.0.1:{running['https']}/static/css/{css.name}",
        headers={"Accept-Encoding": "gzip"},
    )
    assert status == 200
    cache = headers["Cache-Control"]
    assert "immutable" in cache and "max-age=31536000" in cache
    assert headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(body) == css.read_bytes()


def test_plain_http_redirects_and_the_node_port_serves_only_the_node_link(running):
    request = urllib.request.Request(f"http://127.0.0.1:{running['http']}/chat")
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(request, timeout=5)
    assert redirect.value.code == 301
    assert redirect.value.headers["Location"].startswith("https://")
    assert fetch(f"https://127.0.0.1:{running['node']}/")[0] == 404
    assert fetch(f"https://127.0.0.1:{running['node']}/node/ws")[0] == 502  # the app's part


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
