"""The base image's Debian mirror defaults to the host's own apt source."""

from __future__ import annotations

from pathlib import Path

import pytest

from heldout.sandbox.apt_sources import host_debian_mirror


def _apt(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "apt"
    (root / "sources.list.d").mkdir(parents=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


ONE_LINE = """\
# deb http://commented.example.invalid/debian bookworm main
deb-src http://source.example.invalid/debian bookworm main
deb http://security.example.invalid/debian-security bookworm-security main
deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.example.invalid/debian/ bookworm main
deb http://later.example.invalid/debian bookworm main
"""

DEB822 = """\
Types: deb-src
URIs: http://source.example.invalid/debian
Suites: bookworm

Types: deb
URIs: http://disabled.example.invalid/debian
Suites: bookworm
Enabled: no

Types: deb
URIs: http://security.example.invalid/debian
Suites: bookworm-security
Components: main

Types: deb
URIs: https://corp.example.invalid/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def test_one_line_format(tmp_path: Path) -> None:
    root = _apt(tmp_path, {"sources.list": ONE_LINE})
    assert host_debian_mirror(root) == "http://mirror.example.invalid/debian"


def test_deb822_format(tmp_path: Path) -> None:
    root = _apt(tmp_path, {"sources.list.d/debian.sources": DEB822})
    assert host_debian_mirror(root) == "https://corp.example.invalid/debian"


def test_sources_list_comes_before_the_directory(tmp_path: Path) -> None:
    root = _apt(tmp_path, {"sources.list": ONE_LINE, "sources.list.d/debian.sources": DEB822})
    assert host_debian_mirror(root) == "http://mirror.example.invalid/debian"


@pytest.mark.parametrize("files", [
    {},
    {"sources.list": "deb cdrom:[Debian]/ bookworm main\ndeb file:/srv/debian bookworm main\n"},
    {"sources.list.d/other.txt": "deb http://ignored.example.invalid/debian bookworm main\n"},
])
def test_no_usable_source(tmp_path: Path, files: dict[str, str]) -> None:
    assert host_debian_mirror(_apt(tmp_path, files)) is None


def test_the_setting_overrides_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    from heldout.sandbox import image

    monkeypatch.setattr(image, "host_debian_mirror", lambda: "http://host.example.invalid/debian")
    monkeypatch.setenv("HELDOUT_DEBIAN_MIRROR", "http://override.example.invalid/debian")
    assert image.debian_mirror() == "http://override.example.invalid/debian"
    monkeypatch.delenv("HELDOUT_DEBIAN_MIRROR")
    assert image.debian_mirror() == "http://host.example.invalid/debian"
    monkeypatch.setattr(image, "host_debian_mirror", lambda: None)
    assert image.debian_mirror() == image.DEFAULT_DEBIAN_MIRROR
