"""The host's own Debian mirror, read from its apt sources (one-line and deb822 formats)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

APT_DIR = Path("/etc/apt")


def _one_line(text: str) -> Iterator[tuple[str, str]]:
    """(uri, suite) of each ``deb`` line; ``[option=…]`` blocks are skipped."""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        rest = line[4:].strip()
        if rest.startswith("["):
            rest = rest.partition("]")[2].strip()
        fields = rest.split()
        if len(fields) >= 2:
            yield fields[0], fields[1]


def _deb822(text: str) -> Iterator[tuple[str, str]]:
    """(uri, suite) of each enabled ``Types: deb`` stanza."""
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for raw in stanza.splitlines():
            if raw.startswith("#") or not raw.strip():
                continue
            if raw[0] in " \t" and key:  # a continuation line
                fields[key] += " " + raw.strip()
                continue
            key, _, value = raw.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        suites = fields.get("suites", "").split() or [""]
        for uri in fields.get("uris", "").split():
            yield uri, suites[0]


def _sources(apt_dir: Path) -> Iterator[tuple[str, str]]:
    main = apt_dir / "sources.list"
    if main.is_file():
        yield from _one_line(main.read_text(encoding="utf-8", errors="replace"))
    parts = apt_dir / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.iterdir()):
            text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
            if path.suffix == ".list":
                yield from _one_line(text)
            elif path.suffix == ".sources":
                yield from _deb822(text)


def host_debian_mirror(apt_dir: Path = APT_DIR) -> str | None:
    """The first http(s) Debian archive the host installs from (not its security archive).

    Behind a company mirror that is the one address known to work; None when the host
    has no apt sources (e.g. not Debian).
    """
    for uri, suite in _sources(apt_dir):
        if not uri.startswith(("http://", "https://")):
            continue
        if suite.endswith("-security") or "debian-security" in uri:
            continue
        return uri.rstrip("/")
    return None
