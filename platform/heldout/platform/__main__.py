"""``python -m heldout.platform``: the ``heldout`` command."""

from heldout.platform.cli import run_module

run_module()
