"""A short, human summary of a User-Agent: "Chrome · Android"."""

from __future__ import annotations

import re

# Order matters: Edge, Opera and Yandex carry "Chrome" too; Chrome carries "Safari".
BROWSERS = (
    ("YaBrowser", "Яндекс Браузер"),
    ("Edg", "Edge"),
    ("OPR", "Opera"),
    ("Firefox", "Firefox"),
    ("FxiOS", "Firefox"),
    ("CriOS", "Chrome"),
    ("Chrome", "Chrome"),
    ("Safari", "Safari"),
    ("curl", "curl"),
)
SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def describe(user_agent: str) -> str:
    browser = next((name for token, name in BROWSERS if re.search(rf"\b{token}\b", user_agent)), "")
    system = next((name for token, name in SYSTEMS if token in user_agent), "")
    summary = " · ".join(part for part in (browser, system) if part)
    return summary or "Неизвестное устройство"
