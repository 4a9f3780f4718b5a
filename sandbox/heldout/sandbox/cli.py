"""`heldout sandbox …` commands (they run without the platform: settings from the environment)."""

from __future__ import annotations

import click

from heldout.sandbox.errors import SandboxError


@click.group("sandbox")
def sandbox_group() -> None:
    """Build and inspect the sandbox runtime image."""


@sandbox_group.command("build")
@click.option("--force", is_flag=True, help="Rebuild even when the image exists.")
def build_command(force: bool) -> None:
    """Build the runtime image (offline-capable; cached by content hash)."""
    from heldout.sandbox import image  # the Docker SDK, only for the command that needs it

    try:
        tag = image.build(force=force, say=lambda line: click.echo(line, err=True))
    except SandboxError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(tag)


@sandbox_group.command("image")
def image_command() -> None:
    """Print the tag of the image jobs run in."""
    from heldout.sandbox import image

    try:
        click.echo(image.default_image())
    except SandboxError as exc:
        raise click.ClickException(str(exc)) from exc
