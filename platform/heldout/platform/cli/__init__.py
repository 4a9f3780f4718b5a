"""The ``heldout`` command: one table of its commands, each imported when it is run or listed."""

from __future__ import annotations

import importlib
from typing import Any

import click
from click.utils import make_str

from heldout.sandbox import exit_on_sigterm

# Name → "module:attribute". The platform's own groups live beside this module, grading's
# and the sandbox's in their packages, benchmarks and deployment in heldout.tools (which
# nothing else imports). `heldout serve` and `heldout worker` load their own module only.
COMMANDS = {
    "backup": "heldout.platform.cli.backup:backup_command",
    "bench": "heldout.tools.bench.cli:bench_group",
    "challenges": "heldout.graders.cli:challenges_group",
    "create-user": "heldout.platform.cli.users:create_user_command",
    "db": "heldout.platform.cli.db:db_group",
    "demo": "heldout.platform.cli.catalogue:demo_command",
    "deploy": "heldout.tools.deploy:deploy_group",
    "doctor": "heldout.platform.cli.doctor:doctor_command",
    "grade": "heldout.graders.cli:grade_command",
    "import": "heldout.platform.cli.importers:import_group",
    "load-challenges": "heldout.platform.cli.catalogue:load_challenges_command",
    "restore": "heldout.platform.cli.backup:restore_command",
    "retention": "heldout.platform.cli.retention:retention_group",
    "sandbox": "heldout.sandbox.cli:sandbox_group",
    "serve": "heldout.platform.cli.serve:serve_command",
    "settings": "heldout.platform.cli.doctor:settings_command",
    "similarity": "heldout.graders.cli:similarity_command",
    "standings": "heldout.platform.cli.standings:standings_group",
    "tokens": "heldout.platform.cli.tokens:tokens_group",
    "up": "heldout.platform.cli.serve:up_command",
    "users": "heldout.platform.cli.users:users_group",
    "worker": "heldout.platform.cli.serve:worker_command",
}


class LazyGroup(click.Group):
    """A group whose commands come from ``COMMANDS``, imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, _, attribute = COMMANDS[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{COMMANDS[cmd_name]} is not a click command")
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        if args and self.get_command(ctx, make_str(args[0])) is None:
            # Not a command: load them all, so the error suggests the names that come close.
            for name in COMMANDS:
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)


@click.group(cls=LazyGroup)
@click.version_option(package_name="heldout")
def main() -> None:
    """heldout — self-hosted assessments for hiring machine-learning engineers.

    Settings come from HELDOUT_* environment variables (`heldout settings` lists them).
    """
    exit_on_sigterm()  # a stopped command runs its clean-up (sandboxes, temporary files)


def run_module() -> Any:
    return main(prog_name="heldout")
