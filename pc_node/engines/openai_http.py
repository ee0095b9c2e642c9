"""Any OpenAI-compatible chat completions server, streamed over server-sent events."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

from pc_node.engines.base import EngineError, EngineInfo, Generation


class OpenAIEngine:
    def __init__(
        self, base_url: str, model: str, *, api_key: str = "", context_size: int = 8192
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise EngineError(f"engine URL must start with http:// or https://: {base_url!r}")
        self.url = base_url.rstrip("/") + "/v1/chat/completions"
        self.model = model
        self.api_key = api_key
        self.info = EngineInfo("openai-http", model, context_size)

    def stream(self, generation: Generation) -> Iterator[str]:
        body = json.dumps(
            {
                "model": self.model,
                "messages": generation.messages,
                "max_tokens": generation.max_tokens,
                "temperature": generation.temperature,
                "stop": generation.stop or None,
                "stream": True,
            }
        ).encode()
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            response = urllib.request.urlopen(request, timeout=60)  # noqa: S310 - scheme checked
        except (urllib.error.URLError, OSError) as exc:
            raise EngineError(f"engine server unreachable: {exc}", retryable=True) from exc
        with response:
            for raw in response:
                if generation.cancel.is_set():
                    generation.finish_reason = "cancelled"
                    return  # closing the response tells the server to stop generating
                line = raw.decode("utf-8").strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                try:
                    choice = json.loads(data)["choices"][0]
                except (ValueError, KeyError, IndexError) as exc:
                    raise EngineError(f"engine sent a malformed event: {data[:200]}") from exc
                text = (choice.get("delta") or {}).get("content")
                if text:
                    generation.tokens += 1
                    yield text
                if choice.get("finish_reason"):
                    generation.finish_reason = choice["finish_reason"]
