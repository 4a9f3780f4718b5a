"""``heldout grade``, ``heldout similarity`` and ``heldout challenges``: grade, compare,
list, validate and check bundles."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from heldout.graders.authoring import AuthoringError, new_bundle
from heldout.graders.bundle import (
    SKIPPED_DIRS,
    Bundle,
    SolutionCase,
    default_challenges_dir,
    display_path,
    resolve_bundle,
    scan_bundles,
)
from heldout.graders.bundle_types import MAX_VARIANT_SEED, Variant
from heldout.graders.errors import BundleError, GraderError
from heldout.graders.evaluate import evaluate
from heldout.graders.kinds import KINDS
from heldout.graders.result import Evaluation, Split
from heldout.graders.similarity import ChallengeDetector, compare_all, submission_files
from heldout.graders.submission import stage_submission
from heldout.graders.variants import (
    ENV_VARIANTS_DIR,
    VariantError,
    default_variants_dir,
    materialise_variant,
)
from heldout.sandbox import exit_on_sigterm

CHALLENGES_DIR_OPTION = click.option(
    "--challenges-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Where bundles live (default: $HELDOUT_CHALLENGES_DIR, else the repo's challenges/).",
)


def _table(rows: Sequence[Sequence[str]], indent: str = "") -> str:
    """Left-aligned columns; the last column is left free to run long."""
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append(indent + "  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def _points(score: float, max_score: float) -> str:
    return f"{score:g}/{max_score:g}"


def render_evaluation(evaluation: Evaluation) -> str:
    """A short human summary: one header line and one line per check."""
    head = f"{evaluation.challenge} ({evaluation.version[:19]}…)  {evaluation.status}"
    if evaluation.score is not None:
        head += f"  score {_points(evaluation.score, evaluation.max_score)}"
    lines = [head]
    if evaluation.error:
        lines.append(f"  error: {evaluation.error}")
    rows = [("pass" if c.passed else "FAIL", c.name, c.kind, _points(c.score, c.max_score),
             c.detail) for c in evaluation.checks]
    if rows:
        lines.append(_table(rows, indent="  "))
    if evaluation.metrics:
        shown = ", ".join(f"{name} {value:.4f}" for name, value in evaluation.metrics.items())
        lines.append(f"  metrics: {shown}")
    return "\n".join(lines)


def _resolve(challenge: str, challenges_dir: Path | None) -> Bundle:
    try:
        return resolve_bundle(challenge, challenges_dir)
    except BundleError as exc:
        raise click.UsageError(str(exc)) from exc


@click.command("grade")
@click.argument("challenge", metavar="SLUG_OR_BUNDLE_DIR")
@click.argument("submission", metavar="SUBMISSION_PATH",
                type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option("--public", is_flag=True,
              help="Run the bundle's public checks (public data or cases; nothing hidden).")
@click.option("--variant-seed", type=click.IntRange(0, MAX_VARIANT_SEED), default=None,
              help="Grade on the bundle's generated data variant for this seed "
                   "(bundles with [variants] only).")
@click.option("--variants-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Variant cache (default: ${ENV_VARIANTS_DIR}, else ~/.cache/heldout/variants).")
@CHALLENGES_DIR_OPTION
@click.pass_context
def grade_command(ctx: click.Context, challenge: str, submission: Path, as_json: bool,
                  public: bool, variant_seed: int | None, variants_dir: Path | None,
                  challenges_dir: Path | None) -> None:
    """Grade SUBMISSION_PATH (a directory, or one file taken as the entrypoint).

    With --public the JSON object gains "split": "public"; with --variant-seed it gains
    "variant": {"seed": N, "digest": "sha256:…"}.

    Exit status: 0 when graded (whatever the score), 1 on an internal error, 2 on bad usage.
    """
    bundle = _resolve(challenge, challenges_dir)
    split: Split = "public" if public else "hidden"
    variant: Variant | None = None
    if variant_seed is not None:
        if bundle.variants is None:
            raise click.UsageError(f"{bundle.slug} declares no [variants] generator; "
                                   "--variant-seed needs one")
        try:
            variant = materialise_variant(bundle, variant_seed,
                                          variants_dir or default_variants_dir())
        except VariantError as exc:
            evaluation = Evaluation.internal_error(bundle.slug, bundle.version, f"variant: {exc}")
        else:
            evaluation = evaluate(bundle, submission, split=split, variant=variant)
    else:
        evaluation = evaluate(bundle, submission, split=split)
    if as_json:
        shown = evaluation.as_dict()
        if variant is not None:
            shown["variant"] = {"seed": variant.seed, "digest": variant.digest}
        click.echo(json.dumps(shown, indent=2))
    else:
        where = f"\n  variant: seed {variant.seed}, {variant.digest}" if variant else ""
        click.echo(("public checks: " if public else "") + render_evaluation(evaluation) + where)
    ctx.exit(0 if evaluation.graded else 1)


@click.group("challenges")
def challenges_group() -> None:
    """List, validate and check challenge bundles."""


def _scan(challenges_dir: Path | None) -> tuple[list[Bundle], list[BundleError]]:
    try:
        scan = scan_bundles(challenges_dir)
    except BundleError as exc:
        raise click.UsageError(str(exc)) from exc
    return list(scan.bundles), list(scan.errors)


def bundle_summary(bundle: Bundle) -> dict[str, Any]:
    """The fields ``challenges list --json`` shows for one bundle."""
    return {
        "slug": bundle.slug,
        "title": bundle.title,
        "kind": bundle.kind,
        "version": bundle.version,
        "entrypoint": bundle.submission.entrypoint,
        "summary": bundle.summary,
        "skills": list(bundle.skills),
        "difficulty": bundle.difficulty,
        "expected_minutes": bundle.expected_minutes,
        "profile": bundle.profile,
    }


@challenges_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@CHALLENGES_DIR_OPTION
@click.pass_context
def list_command(ctx: click.Context, as_json: bool, challenges_dir: Path | None) -> None:
    """List every bundle; broken ones are reported on stderr (exit 1)."""
    bundles, errors = _scan(challenges_dir)
    if as_json:
        click.echo(json.dumps([bundle_summary(b) for b in bundles], indent=2))
    elif bundles:
        rows = [("slug", "kind", "difficulty", "minutes", "entrypoint", "title")]
        rows += [(b.slug, b.kind, b.difficulty, str(b.expected_minutes), b.submission.entrypoint,
                  b.title) for b in bundles]
        click.echo(_table(rows))
    else:
        click.echo(f"No challenges in {display_path(challenges_dir or default_challenges_dir())}.")
    for error in errors:
        click.echo(f"error: {error}", err=True)
    ctx.exit(1 if errors else 0)


def _files_under(directory: Path) -> dict[str, bytes]:
    return {path.relative_to(directory).as_posix(): path.read_bytes()
            for path in sorted(directory.rglob("*"))
            if path.is_file() and not SKIPPED_DIRS.intersection(path.relative_to(directory).parts)}


def starter_drift(bundle: Bundle, case: SolutionCase) -> str | None:
    """How a case declared ``same_as_starter`` differs from starter/, or None if it doesn't."""
    if not case.same_as_starter:
        return None
    starter, kept = _files_under(bundle.starter_dir), _files_under(case.path)
    here = f"solutions/{case.name}/"
    differences = ([f"{name} only in starter/" for name in sorted(starter.keys() - kept.keys())]
                   + [f"{name} only in {here}" for name in sorted(kept.keys() - starter.keys())]
                   + [f"{name} differs" for name in sorted(starter.keys() & kept.keys())
                      if starter[name] != kept[name]])
    if not differences:
        return None
    return (f"solutions/{case.name}/ is declared the same as starter/ (same_as_starter) but "
            + ", ".join(differences))


def deep_problems(bundle: Bundle) -> list[str]:
    """Checks too slow for every load: kind-level data checks, solutions as submissions."""
    problems: list[str] = []
    try:
        KINDS.get(bundle.kind).verify(bundle)
    except GraderError as exc:
        problems.append(str(exc))
    for case in bundle.solutions:
        with tempfile.TemporaryDirectory(prefix="heldout-validate-") as tmp:
            staged = stage_submission(bundle.submission, case.path, Path(tmp) / "workspace")
        if staged.problem:
            problems.append(f"solutions/{case.name}/: not a valid submission: {staged.problem}")
        drift = starter_drift(bundle, case)
        if drift:
            problems.append(drift)
    return problems


@challenges_group.command("new")
@click.argument("slug")
@click.option("--kind", "kind_name", required=True,
              help="The kind of grading: " + ", ".join(sorted(KINDS.known())) + ".")
@CHALLENGES_DIR_OPTION
@click.pass_context
def new_command(ctx: click.Context, slug: str, kind_name: str,
                challenges_dir: Path | None) -> None:
    """Write a new bundle SLUG from the kind's skeleton: a small challenge that validates and
    passes `check` as written, to edit into yours (challenges/README.md, "Writing a bundle")."""
    try:
        target = new_bundle(slug, kind_name, challenges_dir or default_challenges_dir())
    except AuthoringError as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(1)
    click.echo(f"created {display_path(target)} ({kind_name}): edit challenge.toml, "
               "statement.md, starter/, public/, hidden/ and solutions/, then run "
               f"`heldout challenges validate` and `heldout challenges check {slug}`")


@challenges_group.command("validate")
@CHALLENGES_DIR_OPTION
@click.pass_context
def validate_command(ctx: click.Context, challenges_dir: Path | None) -> None:
    """Load every bundle and check its data and solutions, without running anything."""
    bundles, errors = _scan(challenges_dir)
    failed = len(errors)
    for bundle in bundles:
        problems = deep_problems(bundle)
        if problems:
            failed += 1
            for problem in problems:
                click.echo(f"error: {display_path(bundle.root)}: {problem}", err=True)
        else:
            click.echo(f"ok     {bundle.slug}  {bundle.version}")
    for error in errors:
        click.echo(f"error: {error}", err=True)
    total = len(bundles) + len(errors)
    click.echo(f"{total - failed} of {total} bundle(s) valid")
    ctx.exit(1 if failed else 0)


def _case_row(bundle: Bundle, case: SolutionCase, evaluation: Evaluation) -> tuple[str, ...]:
    expected = f"{case.min_score:g}-{case.max_score:g}"
    if evaluation.score is None:
        return (bundle.slug, case.name, expected, "-", "ERROR", evaluation.error or "")
    verdict = "ok" if case.accepts(evaluation.score) else "OUT OF RANGE"
    failing = "; ".join(f"{c.name}: {c.detail}" for c in evaluation.checks if not c.passed)
    return (bundle.slug, case.name, expected, f"{evaluation.score:g}", verdict, failing)


@challenges_group.command("check")
@click.argument("slugs", nargs=-1)
@click.option("--all", "every_case", is_flag=True,
              help="Grade every case; without it, each bundle's reference, starter case "
                   "and first flawed case (what CI grades).")
@CHALLENGES_DIR_OPTION
@click.pass_context
def check_command(ctx: click.Context, slugs: tuple[str, ...], every_case: bool,
                  challenges_dir: Path | None) -> None:
    """Grade solutions/<case>/ in the real sandbox against their expected score ranges.

    Without --all, each bundle's reference, starter case and first flawed case
    (Bundle.quick_solutions); with it, every case. Fails a bundle with no case (nothing
    proves it solvable) and a case declared the same as starter/ that is not (it would prove
    nothing about what candidates start from).
    """
    if slugs:
        bundles = [_resolve(slug, challenges_dir) for slug in slugs]
        errors: list[BundleError] = []
    else:
        bundles, errors = _scan(challenges_dir)
    rows: list[tuple[str, ...]] = [("challenge", "case", "expected", "score", "verdict", "notes")]
    for bundle in bundles:
        if not bundle.solutions:
            rows.append((bundle.slug, "-", "-", "-", "NO CASES",
                         "add solutions/<case>/ with [solutions.<case>] in challenge.toml"))
        for case in bundle.solutions if every_case else bundle.quick_solutions:
            drift = starter_drift(bundle, case)
            if drift:
                expected = f"{case.min_score:g}-{case.max_score:g}"
                rows.append((bundle.slug, case.name, expected, "-", "NOT THE STARTER", drift))
                continue
            click.echo(f"grading {bundle.slug}/{case.name} …", err=True)
            rows.append(_case_row(bundle, case, evaluate(bundle, case.path)))
    for error in errors:
        rows.append(("?", "-", "-", "-", "BROKEN", str(error)))
    click.echo(_table(rows))
    bad = [row for row in rows[1:] if row[4] != "ok"]
    skipped = 0 if every_case else sum(len(b.solutions) - len(b.quick_solutions)
                                       for b in bundles)
    more = f" ({skipped} more case(s) not graded: --all grades every case)" if skipped else ""
    click.echo(f"{len(rows) - 1 - len(bad)} of {len(rows) - 1} ok{more}")
    ctx.exit(1 if bad else 0)


@click.command("similarity")
@click.argument("challenge", metavar="SLUG")
@click.argument("paths", metavar="PATH...", nargs=-1, required=True,
                type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the pairs as one JSON object.")
@CHALLENGES_DIR_OPTION
def similarity_command(challenge: str, paths: tuple[str, ...], as_json: bool,
                       challenges_dir: Path | None) -> None:
    """Compare submissions of SLUG, every pair, most similar first.

    Each PATH is a directory, or one file taken as the challenge's entrypoint. The
    bundle's own code (starter, public files) is left out, as on the staff page. The JSON
    object is {"pairs": [{"a": PATH, "b": PATH, "score": 0..1, "flagged": bool}, ...]},
    paths as given.
    """
    bundle = _resolve(challenge, challenges_dir)
    detector = ChallengeDetector.for_bundle(bundle)
    prints = [detector.fingerprint(submission_files(bundle, Path(path))) for path in paths]
    pairs = [{"a": paths[pair.a], "b": paths[pair.b], "score": pair.score,
              "flagged": pair.flagged} for pair in compare_all(prints)]
    if as_json:
        click.echo(json.dumps({"pairs": pairs}, indent=2))
        return
    rows = [("score", "flagged", "a", "b")] + [
        (f"{p['score']:.2f}", "yes" if p["flagged"] else "", str(p["a"]), str(p["b"]))
        for p in pairs]
    click.echo(_table(rows) if pairs else "Give two paths or more to compare.")


@click.group("heldout-graders")
def graders_cli() -> None:
    """The grading commands on their own (``python -m heldout.graders``)."""
    exit_on_sigterm()  # a stopped grading removes its sandbox on the way out


graders_cli.add_command(grade_command)
graders_cli.add_command(challenges_group)
graders_cli.add_command(similarity_command)
