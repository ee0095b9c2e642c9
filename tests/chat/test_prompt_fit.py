"""pc_node's fit step: prompt plus reply always fit the context, counted in tokens."""

from pc_node.fit import PER_MESSAGE, PER_PROMPT, SAFETY, fit, prompt_tokens


def words(text: str) -> int:  # a stand-in tokenizer: one token a word
    return len(text.split())


def dialog(turns: int, words_each: int) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": "ты персонаж " * 20}]
    for n in range(turns):
        role = "user" if n % 2 == 0 else "assistant"
        messages.append({"role": role, "content": f"реплика{n} " * words_each})
    messages.append({"role": "user", "content": "последний вопрос"})
    messages.append({"role": "system", "content": "отвечай коротко"})
    return messages


def test_a_prompt_that_fits_is_left_alone():
    messages = dialog(4, 10)
    fitted = fit(messages, 100, 2048, words)
    assert fitted.messages == messages and fitted.max_tokens == 100 and fitted.dropped == 0


def test_the_oldest_turns_go_first_and_the_rest_fits_with_the_reply():
    messages = dialog(40, 300)  # about 12,000 tokens of history
    fitted = fit(messages, 500, 2048, words)
    assert fitted.dropped > 0
    assert prompt_tokens(fitted.messages, words) + fitted.max_tokens <= 2048 - SAFETY
    kept = fitted.messages
    assert kept[0] == messages[0] and kept[-2:] == messages[-2:]  # system, last message, post
    assert kept[1] == messages[1 + fitted.dropped]  # a contiguous run of the newest turns
    assert fitted.max_tokens == 500


def test_a_reply_is_shortened_before_the_system_prompt_is_touched():
    messages = [
        {"role": "system", "content": "слово " * 1800},
        {"role": "user", "content": "вопрос"},
    ]
    fitted = fit(messages, 500, 2048, words)
    assert fitted.messages == messages
    assert fitted.max_tokens == 2048 - SAFETY - (1800 + 1 + 2 * PER_MESSAGE + PER_PROMPT)


def test_a_prompt_longer_than_the_context_is_cut_and_still_gets_a_reply():
    messages = [{"role": "system", "content": "слово " * 5000}, {"role": "user", "content": "да"}]
    fitted = fit(messages, 500, 2048, words)
    assert fitted.max_tokens >= 64
    assert prompt_tokens(fitted.messages, words) + fitted.max_tokens <= 2048 - SAFETY + 1


def test_a_long_dialog_on_the_real_model_never_overflows_its_context():
    """The bundled tiny model at a 512-token context, a history of many 1,000-character
    replies: the node counts with the model's tokenizer, drops the oldest and answers."""
    import pytest

    pytest.importorskip("llama_cpp", reason="make setup installs llama-cpp-python")
    from pc_node import protocol
    from pc_node.__main__ import bundled_model
    from pc_node.engines.base import Generation
    from pc_node.engines.llama import LlamaEngine
    from pc_node.node import NodeRunner

    engine = LlamaEngine(bundled_model(), context_size=512, threads=1)
    runner = NodeRunner(engine, node_id="fit")
    history = dialog(0, 0)[:1]
    for n in range(12):
        role = "user" if n % 2 == 0 else "assistant"
        history.append({"role": role, "content": f"Длинная реплика номер {n}. " * 40})
    history.append({"role": "user", "content": "Как дела?"})
    sent: list[protocol.Message] = []
    runner._run("job", Generation(messages=history, max_tokens=48, temperature=0), sent.append)
    done = sent[-1]
    assert isinstance(done, protocol.Done), sent[-1]
    assert done.dropped > 0 and done.tokens > 0


def test_the_sites_summary_in_the_history_is_kept_when_turns_go():
    messages = dialog(40, 300)
    messages.insert(3, {"role": "system", "content": "Краткое содержание: " + "было " * 50})
    fitted = fit(messages, 500, 2048, words)
    assert fitted.dropped > 0 and messages[3] in fitted.messages
