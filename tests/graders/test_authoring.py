"""Authoring: ``heldout challenges new`` and the skeletons challenges/README.md shows whole.

Each kind's bundle is built from the README's own blocks (the ``<!-- skeleton: KIND/PATH -->``
marker before each), so the README alone is enough to write a bundle of any kind.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from heldout.graders import load_bundle
from heldout.graders.authoring import skeleton_files
from heldout.graders.cli import challenges_group
from heldout.graders.kinds import KINDS

REPO = Path(__file__).resolve().parents[2]
README = REPO / "challenges" / "README.md"
BLOCK = re.compile(r"<!-- skeleton: ([a-z_]+)/(\S+) -->\n```[a-z]*\n(.*?)```\n", re.DOTALL)
COPY = re.compile(r"`solutions/starter/`: a copy of `starter/`")


def readme_skeletons() -> dict[str, dict[str, str]]:
    """Every kind's files as challenges/README.md shows them; solutions/starter/ is starter/."""
    kinds: dict[str, dict[str, str]] = {}
    for kind, path, text in BLOCK.findall(README.read_text(encoding="utf-8")):
        files = kinds.setdefault(kind, {})
        assert path not in files, f"README shows {kind}/{path} twice"
        files[path] = text
    for files in kinds.values():
        for path, text in list(files.items()):
            if path.startswith("starter/"):
                files["solutions/" + path] = text
    return kinds


def build_from_readme(kind: str, root: Path) -> Path:
    for path, text in readme_skeletons()[kind].items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def slug_of(kind: str) -> str:
    return "new-" + kind.replace("_", "-")


def test_the_readme_shows_every_kind_s_skeleton_as_new_writes_it() -> None:
    shown = readme_skeletons()
    assert sorted(shown) == sorted(KINDS.known())
    for kind in KINDS.known():
        files = {path: data.decode("utf-8") for path, data in skeleton_files(kind).items()}
        assert shown[kind] == files, f"challenges/README.md's {kind} skeleton differs from {kind}/skeleton/"
    # Each kind's README section says its solutions/starter/ is a copy of starter/.
    assert len(COPY.findall(README.read_text(encoding="utf-8"))) == len(KINDS.known())


@pytest.mark.parametrize("kind", KINDS.known())
def test_a_bundle_built_from_the_readme_validates(tmp_path: Path, kind: str) -> None:
    root = build_from_readme(kind, tmp_path / "challenges" / slug_of(kind))
    bundle = load_bundle(root)
    assert bundle.kind == kind
    names = [case.name for case in bundle.solutions]
    assert names[:2] == ["reference", "starter"] and len(names) >= 3
    assert bundle.solution("starter").same_as_starter
    result = CliRunner().invoke(challenges_group, ["validate", "--challenges-dir",
                                                   str(root.parent)])
    assert result.exit_code == 0, result.output
    assert "1 of 1 bundle(s) valid" in result.stdout


def test_new_writes_the_skeleton_and_refuses_in_one_line(tmp_path: Path) -> None:
    cli = CliRunner()
    made = cli.invoke(challenges_group, ["new", "tiny-sql", "--kind", "sql",
                                         "--challenges-dir", str(tmp_path)])
    assert made.exit_code == 0, made.output
    assert "created" in made.stdout and "tiny-sql" in made.stdout
    written = {p.relative_to(tmp_path / "tiny-sql").as_posix(): p.read_bytes()
               for p in (tmp_path / "tiny-sql").rglob("*") if p.is_file()}
    assert written == skeleton_files("sql")
    assert [p.name for p in tmp_path.iterdir()] == ["tiny-sql"]  # nothing left beside it

    again = cli.invoke(challenges_group, ["new", "tiny-sql", "--kind", "function",
                                          "--challenges-dir", str(tmp_path)])
    assert again.exit_code == 1
    assert again.stderr == f"error: {tmp_path / 'tiny-sql'} already exists: choose another slug\n"
    assert {p.relative_to(tmp_path / "tiny-sql").as_posix() for p in
            (tmp_path / "tiny-sql").rglob("*") if p.is_file()} == set(written)

    unknown = cli.invoke(challenges_group, ["new", "other", "--kind", "vision",
                                            "--challenges-dir", str(tmp_path)])
    assert unknown.exit_code == 1
    assert unknown.stderr == ("error: unknown kind 'vision'; known kinds: "
                              + ", ".join(sorted(KINDS.known())) + "\n")
    bad = cli.invoke(challenges_group, ["new", "Not_A_Slug", "--kind", "sql",
                                        "--challenges-dir", str(tmp_path)])
    assert bad.exit_code == 1 and bad.stderr.count("\n") == 1
    assert "not a valid slug" in bad.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny-sql"]


def test_a_kind_without_a_skeleton_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from heldout.graders import authoring

    monkeypatch.setattr(authoring, "SKELETON_DIR", "no-such-dir")
    result = CliRunner().invoke(challenges_group, ["new", "x", "--kind", "sql",
                                                   "--challenges-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the kind 'sql' ships no skeleton (no no-such-dir/")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.docker
@pytest.mark.slow
def test_the_readme_bundles_grade_in_range(sandbox_image: str, tmp_path: Path) -> None:
    """The README bundles' cases as CI grades them (here every case: three each)."""
    for kind in KINDS.known():
        build_from_readme(kind, tmp_path / slug_of(kind))
    result = CliRunner().invoke(challenges_group, ["check", "--challenges-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    cases = sum(len(load_bundle(tmp_path / slug_of(k)).quick_solutions) for k in KINDS.known())
    assert f"{cases} of {cases} ok\n" in result.stdout

