"""Deploy files under config/ that CI can check without the real hosts."""

import configparser
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parents[2] / "config" / "systemd"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((SYSTEMD / name).read_text().replace("\\\n", " "))
    return parser


@pytest.mark.parametrize("name", ["mehhost-tunnel.service", "mehhost-node.service"])
def test_services_run_unprivileged_and_restart(name):
    service = unit(name)["Service"]
    assert service["User"] not in ("", "root")
    assert service["Restart"] == "always"
    assert service["NoNewPrivileges"] == "yes"


def test_tunnel_forwards_the_vds_port_2222_to_the_listening_node():
    command = unit("mehhost-tunnel.service")["Service"]["ExecStart"]
    assert "-R 127.0.0.1:2222:127.0.0.1:8765" in command
    assert "ExitOnForwardFailure=yes" in command and "ServerAliveInterval" in command


def test_timer_starts_the_tunnel_service():
    assert unit("mehhost-tunnel.timer")["Timer"]["Unit"] == "mehhost-tunnel.service"
