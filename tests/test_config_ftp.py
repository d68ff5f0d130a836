"""``[ftp]`` in config.toml: read strictly, written back unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tools import PASSPHRASE
from vault.config import Config, FtpConfig, Layout, parse_listen
from vault.errors import VaultError
from vault.service import Vault


def _with(root: Path, text: str) -> Config:
    layout = Layout(root)
    base = layout.config.read_text()
    return Config.from_toml((base + "\n" + text).encode(), layout.config)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    Vault.init(tmp_path / "v", PASSPHRASE, log_n=10).close()
    return tmp_path / "v"


def test_ftp_is_off_unless_configured_and_round_trips(root: Path) -> None:
    assert Config.load(Layout(root)).ftp is None
    cfg = _with(
        root,
        '[ftp]\nlisten = "[::]:2121"\npassive_ports = "60000-60009"\n'
        'tls = {cert = "/c.pem", key = "/k.pem"}\nmax_upload = 1000\n',
    )
    assert cfg.ftp == FtpConfig("::", 2121, (60000, 60009), True, "/c.pem", "/k.pem", 1000)
    again = Config.from_toml(cfg.to_toml(), Layout(root).config)
    assert again.ftp == cfg.ftp
    assert _with(root, '[ftp]\nlisten = "0.0.0.0:21"\ntls = true\n').ftp == FtpConfig(
        "0.0.0.0", 21, tls=True
    )


@pytest.mark.parametrize(
    "text",
    [
        "[ftp]\ntls = true\n",
        '[ftp]\nlisten = "2121"\n',
        '[ftp]\nlisten = "host:99999"\n',
        '[ftp]\nlisten = "host:²1"\n',
        '[ftp]\nlisten = "h:21"\npassive_ports = "70000-70001"\n',
        '[ftp]\nlisten = "h:21"\npassive_ports = "60010-60000"\n',
        '[ftp]\nlisten = "h:21"\ntls = "yes"\n',
        '[ftp]\nlisten = "h:21"\ntls = {cert = "/c.pem"}\n',
        '[ftp]\nlisten = "h:21"\nmax_upload = -1\n',
        '[ftp]\nlisten = "h:21"\nmax_upload = true\n',
        '[ftp]\nlisten = "h:21"\nlisen = "typo"\n',
    ],
)
def test_bad_ftp_settings_are_refused_clearly(root: Path, text: str) -> None:
    with pytest.raises(VaultError, match=r"\[ftp\]|ftp"):
        _with(root, text)


def test_listen_addresses() -> None:
    assert parse_listen("127.0.0.1:0", "x") == ("127.0.0.1", 0)
    assert parse_listen("[::1]:2121", "x") == ("::1", 2121)
    for bad in ("", ":21", "host:", "host: 21", 21):
        with pytest.raises(VaultError):
            parse_listen(bad, "--ftp-listen")
