"""Sending one alert text over one channel: email (SMTP), Telegram Bot API, an SMS HTTP gateway.

Base URLs come from Settings (TELEGRAM_BASE_URL, SMS_BASE_URL), so tests point them at local fake
servers. Any failure raises ChannelError with what the far end said; the caller retries later.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from config.settings import Settings
from webapp.notify.config import ChannelConfig
from webapp.notify.email import build_message, send_message

TIMEOUT_S = 10.0


class ChannelError(RuntimeError):
    """A channel refused or could not be reached."""


def _request(url: str, payload: dict[str, Any] | None = None, headers=None) -> Any:
    """GET (no payload) or POST JSON to an http(s) URL; the JSON answer, or ChannelError."""
    if not url.startswith(("https://", "http://")):
        raise ChannelError(f"not an http(s) URL: {url[:60]}")
    data = None if payload is None else json.dumps(payload, ensure_ascii=False).encode()
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            body = response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:200]
        raise ChannelError(f"HTTP {exc.code}: {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ChannelError(f"unreachable: {getattr(exc, 'reason', exc)}") from exc
    try:
        return json.loads(body) if body else {}
    except ValueError:
        return {"raw": body[:200]}


def send_telegram(settings: Settings, config: ChannelConfig, chat_id: str, text: str) -> None:
    url = f"{settings.telegram_base_url}/bot{config.telegram_token}/sendMessage"
    answer = _request(url, {"chat_id": chat_id, "text": text[:4096]})
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        raise ChannelError(f"Telegram refused: {answer}")


def send_sms(settings: Settings, config: ChannelConfig, phone: str, text: str) -> None:
    """`generic`: POST {to, text} JSON with a bearer key; `smsru`: sms.ru's /sms/send API."""
    if not settings.sms_base_url:
        raise ChannelError("SMS_BASE_URL is not set")
    if config.sms_provider == "smsru":
        query = urllib.parse.urlencode(
            {"api_id": config.sms_api_key, "to": phone.lstrip("+"), "msg": text, "json": 1}
        )
        answer = _request(f"{settings.sms_base_url}/sms/send?{query}")
        if not isinstance(answer, dict) or answer.get("status") != "OK":
            raise ChannelError(f"SMS gateway refused: {answer}")
        return
    answer = _request(
        settings.sms_base_url,
        {"to": phone, "text": text},
        {"Authorization": f"Bearer {config.sms_api_key}"},
    )
    if isinstance(answer, dict) and answer.get("error"):
        raise ChannelError(f"SMS gateway refused: {answer['error']}")


def send_email_text(settings: Settings, to: str, subject: str, text: str) -> None:
    send_message(settings, build_message(settings, to, subject, text))


def send(settings: Settings, config: ChannelConfig, channel: str, to: str, text: str) -> None:
    """One text to one recipient; the email subject is the text's first line."""
    if channel == "email":
        subject, _, _body = text.partition("\n")
        send_email_text(settings, to, subject[:150], text)
    elif channel == "telegram":
        send_telegram(settings, config, to, text)
    elif channel == "sms":
        send_sms(settings, config, to, text[:300])
    else:
        raise ChannelError(f"unknown channel {channel!r}")
