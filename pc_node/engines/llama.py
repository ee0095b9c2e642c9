"""llama.cpp in process (llama-cpp-python): the chat template comes from the GGUF metadata."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

from pc_node.engines.base import EngineError, EngineInfo, Generation

log = logging.getLogger(__name__)


class LlamaEngine:
    """One model, one context: jobs run one at a time (capacity 1)."""

    def __init__(
        self,
        model_path: Path,
        *,
        context_size: int = 4096,
        gpu_layers: int = -1,
        threads: int | None = None,
        thinking: bool = False,
    ) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EngineError("llama-cpp-python is not installed (make node-deps)") from exc
        if not model_path.is_file():
            raise EngineError(f"model file not found: {model_path}")
        started = time.perf_counter()
        self.llm = Llama(
            model_path=str(model_path),
            n_ctx=context_size,
            n_gpu_layers=gpu_layers,
            n_threads=threads,
            verbose=False,
        )
        self.thinking = thinking
        self.info = EngineInfo("llama.cpp", model_path.stem, context_size)
        log.info("loaded %s in %.1f s", model_path.name, time.perf_counter() - started)

    def count_tokens(self, text: str) -> int:
        """The model's own tokenizer (for pc_node.fit)."""
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(self, generation: Generation) -> Iterator[str]:
        messages = self._apply_thinking_switch(generation.messages)
        try:
            chunks = self.llm.create_chat_completion(
                messages=messages,
                max_tokens=generation.max_tokens,
                temperature=generation.temperature,
                stop=generation.stop or None,
                stream=True,
            )
            for chunk in chunks:
                if generation.cancel.is_set():
                    generation.finish_reason = "cancelled"
                    chunks.close()  # stops decoding at once: the GPU is free again
                    return
                choice = chunk["choices"][0]
                text = choice["delta"].get("content")
                if text:
                    generation.tokens += 1
                    yield text
                if choice.get("finish_reason"):
                    generation.finish_reason = choice["finish_reason"]
        except (RuntimeError, ValueError) as exc:
            raise EngineError(f"llama.cpp failed: {exc}", retryable=True) from exc

    def _apply_thinking_switch(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        # Qwen3 reads /think and /no_think in the last user turn; other models ignore none of it,
        # so the switch is only added for Qwen3 models.
        if "qwen3" not in self.info.model.lower() or not messages:
            return messages
        switch = " /think" if self.thinking else " /no_think"
        last = messages[-1]
        if last.get("role") != "user":
            return messages
        return [*messages[:-1], {**last, "content": last["content"] + switch}]
