"""`heldout sandbox …` commands (they run without the platform: settings from the environment)."""

from __future__ import annotations

import click

from heldout.sandbox.errors import SandboxError
from heldout.sandbox.profiles import DEFAULT_PROFILE, PROFILES


@click.group("sandbox")
def sandbox_group() -> None:
    """Build and inspect the sandbox runtime images."""


@sandbox_group.command("build")
@click.option("--force", is_flag=True, help="Rebuild even when the image exists.")
@click.option("--profile", "profiles", multiple=True, type=click.Choice(sorted(PROFILES)),
              help="Build only this runtime profile's image (repeatable; default: every "
                   "profile's, the default image first).")
def build_command(force: bool, profiles: tuple[str, ...]) -> None:
    """Build the runtime images (offline-capable; cached by content hash).

    Prints each image's tag on standard output; its size and the cold import time of
    its heavy modules go to standard error."""
    from heldout.sandbox import image  # the Docker SDK, only for the command that needs it

    def say(line: str) -> None:
        click.echo(line, err=True)

    try:
        reports = image.build_all(force=force, say=say, names=profiles or None)
    except SandboxError as exc:
        raise click.ClickException(str(exc)) from exc
    for report in reports:
        built = (f"built in {report.build_seconds:.0f} s" if report.build_seconds
                 else "already built")
        say(f"{report.profile}: {report.tag}, {report.size_mb:.0f} MB, {built}; cold import of "
            f"{', '.join(report.modules)}: {report.import_seconds:.2f} s (the whole docker "
            f"run: {report.run_seconds:.2f} s)")
        click.echo(report.tag)


@sandbox_group.command("image")
@click.option("--profile", default=DEFAULT_PROFILE, show_default=True,
              type=click.Choice(sorted(PROFILES)), help="The runtime profile.")
def image_command(profile: str) -> None:
    """Print the tag of the image jobs of a runtime profile run in."""
    from heldout.sandbox import image

    try:
        click.echo(image.profile_image(profile))
    except SandboxError as exc:
        raise click.ClickException(str(exc)) from exc
