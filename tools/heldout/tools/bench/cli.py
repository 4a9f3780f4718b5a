"""The ``heldout bench`` group: sandbox, pages, burst and similarity (each imports its measures
when run)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from heldout.platform.cli.common import load_app
from heldout.tools.bench.pages import pages_command


@click.group("bench")
def bench_group() -> None:
    """Benchmarks (numbers, not pass/fail): compare heldout with a bare baseline."""


@bench_group.command("sandbox")
@click.option("-n", "--runs", default=10, show_default=True, help="Runs of each program and side.")
@click.option("--batch", default=20, show_default=True, help="Submissions per throughput batch.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the JSON object to this file.")
def bench_sandbox(runs: int, batch: int, as_json: bool, output: Path | None) -> None:
    """Bare `docker run` vs heldout's sandbox (trivial, typical ML, each kind's grading), queue throughput."""
    from heldout.tools.bench import sandbox

    app = load_app()
    say = (lambda line: click.echo(line, err=True)) if as_json else click.echo
    result = sandbox.run_all(runs, batch, Path(app.config["HELDOUT_CHALLENGES_DIR"]), say)
    text = json.dumps(result, indent=2, sort_keys=True)
    if output is not None:
        output.write_text(text + "\n")
    click.echo(text if as_json else sandbox.render(result))


bench_group.add_command(pages_command)


@bench_group.command("burst")
@click.option("-n", "--candidates", default=200, show_default=True, type=click.IntRange(min=1),
              help="Simulated candidates.")
@click.option("--duration", default=180.0, show_default=True, type=click.FloatRange(min=5),
              help="Seconds from the start of the compressed timeline to the deadline.")
@click.option("--window", default=60.0, show_default=True, type=click.FloatRange(min=1),
              help="The last seconds before the deadline, when most candidates submit.")
@click.option("--late-share", default=0.8, show_default=True, type=click.FloatRange(0, 1),
              help="Fraction of candidates submitting within the window.")
@click.option("--autosave-every", default=5.0, show_default=True, type=click.FloatRange(min=0.5),
              help="Seconds between a candidate's autosaves.")
@click.option("--ramp", type=click.FloatRange(min=1), default=None,
              help="Seconds over which candidates open their invites before the timeline "
                   "starts (default: one second per 3 candidates, at least 10).")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(min=1),
              help="gunicorn threads of the web server.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1),
              help="Grading jobs the worker runs at once.")
@click.option("--limit-runs", default=20, show_default=True, type=click.IntRange(min=1),
              help="Bare docker runs measuring the sandbox's own limit.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the schedule.")
@click.option("--repeat", default=1, show_default=True, type=click.IntRange(min=1),
              help="Bursts one after the other, each from scratch: every run's figures and all.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the JSON object to this file.")
def bench_burst(candidates: int, duration: float, window: float, late_share: float,
                autosave_every: float, ramp: float | None, threads: int, workers: int,
                limit_runs: int, seed: int, repeat: int, as_json: bool,
                output: Path | None) -> None:
    """The deadline burst: N candidates against gunicorn and a real worker on 127.0.0.1."""
    from heldout.tools.bench import burst

    try:
        plan = burst.BurstPlan(candidates=candidates, duration_s=duration, window_s=window,
                               late_share=late_share, autosave_every_s=autosave_every,
                               ramp_s=ramp if ramp is not None else max(10.0, candidates / 3),
                               server_threads=threads, workers=workers, limit_runs=limit_runs,
                               seed=seed)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    say = (lambda line: click.echo(line, err=True)) if as_json else click.echo
    result = burst.run_burst(plan, Path(load_app().config["HELDOUT_CHALLENGES_DIR"]), say,
                             repeat=repeat)
    text = json.dumps(result, indent=2, sort_keys=True)
    if output is not None:
        output.write_text(text + "\n")
    click.echo(text if as_json else burst.render(result))


@bench_group.command("similarity")
@click.option("-n", "--submissions", default=1000, show_default=True,
              type=click.IntRange(min=2), help="Submissions of the challenge to compare.")
@click.option("--challenge", default="metrics-from-scratch", show_default=True,
              help="The challenge (slug) whose solutions are disguised into submissions.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the JSON object to this file.")
def bench_similarity(submissions: int, challenge: str, as_json: bool,
                     output: Path | None) -> None:
    """N submissions of one challenge, every pair compared, beside plain tokenisation."""
    from heldout.graders.bundle import resolve_bundle
    from heldout.graders.errors import BundleError
    from heldout.tools.bench import similarity

    try:
        bundle = resolve_bundle(challenge,
                                Path(load_app().config["HELDOUT_CHALLENGES_DIR"]))
        say = (lambda line: click.echo(line, err=True)) if as_json else click.echo
        result = similarity.run_similarity(bundle, submissions, say)
    except (BundleError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    text = json.dumps(result, indent=2, sort_keys=True)
    if output is not None:
        output.write_text(text + "\n")
    click.echo(text if as_json else similarity.render(result))
