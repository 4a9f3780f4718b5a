"""Challenge kinds by short name: one package each, registered below with one line per kind.

A kind's package defines ``KIND``, which declares its check types, artefacts, report parts
and job roles (see :class:`~heldout.graders.kinds.base.Kind`); nothing else in the house
lists kinds by name.
"""

from __future__ import annotations

import importlib

from heldout.graders.checks import CHECKS, SHARED
from heldout.graders.kinds.base import GradingConfig, Kind
from heldout.graders.registry import Registry

__all__ = ["KINDS", "GradingConfig", "Kind", "register_package"]

KINDS: Registry[Kind] = Registry("kind")


def register_package(package: str) -> Kind:
    """Register the kind that ``package`` defines as ``KIND``, and the check types it owns."""
    kind: Kind = importlib.import_module(package).KIND
    KINDS.register(kind)
    for check in kind.checks:
        if check not in SHARED:
            CHECKS.register(check)
    return kind


register_package("heldout.graders.kinds.model_training")
register_package("heldout.graders.kinds.function")
register_package("heldout.graders.kinds.feature_engineering")
register_package("heldout.graders.kinds.notebook")
register_package("heldout.graders.kinds.sql")
register_package("heldout.graders.kinds.deployment")
