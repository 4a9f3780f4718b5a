"""Challenge kinds by short name; an unknown name fails with the list of known ones."""

from __future__ import annotations

from heldout.graders.errors import UnknownName
from heldout.graders.kinds.base import GradingConfig, Kind
from heldout.graders.kinds.deployment import DeploymentKind
from heldout.graders.kinds.feature_engineering import FeatureEngineering
from heldout.graders.kinds.function import FunctionKind
from heldout.graders.kinds.model_training import ModelTraining
from heldout.graders.kinds.notebook import NotebookKind
from heldout.graders.kinds.sql import SqlKind

__all__ = ["GradingConfig", "Kind", "get_kind", "known_kinds", "register"]

_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add a kind; registering a second one under the same name is a programming error."""
    if kind.name in _KINDS and _KINDS[kind.name] is not kind:
        raise ValueError(f"a challenge kind named {kind.name!r} is already registered")
    _KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> Kind:
    try:
        return _KINDS[name]
    except KeyError:
        raise UnknownName("kind", name, list(_KINDS)) from None


def known_kinds() -> list[str]:
    return sorted(_KINDS)


register(ModelTraining())
register(FunctionKind())
register(FeatureEngineering())
register(NotebookKind())
register(SqlKind())
register(DeploymentKind())
