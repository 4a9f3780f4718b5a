"""``python -m heldout.graders``: the grading commands without the web app installed."""

from heldout.graders.cli import graders_cli

graders_cli()
