import pytest

from pc_node.__main__ import bundled_model, parse


def test_options_from_a_config_file_and_key_file(tmp_path):
    key = tmp_path / "node.key"
    key.write_text("mhn_secret\n")
    config = tmp_path / "node.conf"
    config.write_text(
        f"# home PC\nserver = wss://chat.example.ru:8443/node/ws\napi_key_file = {key}\n"
        "context-size = 8192\ngpu_layers = 20\n"
    )
    args = parse(["--config", str(config)])
    assert args.server == "wss://chat.example.ru:8443/node/ws"
    assert args.api_key == "mhn_secret"
    assert (args.context_size, args.gpu_layers) == (8192, 20)


def test_command_line_wins_over_the_config_file(tmp_path):
    config = tmp_path / "node.conf"
    config.write_text("api_key = a\nserver = ws://one/node/ws\n")
    assert parse(["--config", str(config), "--server", "ws://two/node/ws"]).server == (
        "ws://two/node/ws"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--server", "ws://x/node/ws"], "API key is required"),
        (["--api-key", "k"], "exactly one of --server"),
        (["--api-key", "k", "--server", "ws://x", "--listen", "127.0.0.1:1"], "exactly one"),
    ],
)
def test_bad_command_lines_say_what_is_wrong(argv, message, capsys):
    with pytest.raises(SystemExit):
        parse(argv)
    assert message in capsys.readouterr().err


def test_unknown_config_keys_are_refused(tmp_path, capsys):
    config = tmp_path / "node.conf"
    config.write_text("api_key = a\nserver = ws://x\nmodle = typo.gguf\n")
    with pytest.raises(SystemExit):
        parse(["--config", str(config)])
    assert "modle" in capsys.readouterr().err


def test_the_bundled_tiny_model_is_found_without_importing_its_package():
    pytest.importorskip("llama_cpp")
    path = bundled_model()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
