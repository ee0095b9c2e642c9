"""Engines turn chat messages into a stream of text deltas: llama.cpp in process, or any
OpenAI-compatible HTTP server (llama.cpp server, LM Studio, vLLM)."""
