"""The one registry type behind kinds, check types, metrics and downstream models."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from heldout.graders.checks import CHECKS
from heldout.graders.downstream import MODELS
from heldout.graders.errors import UnknownName
from heldout.graders.kinds import KINDS
from heldout.graders.metrics import METRICS
from heldout.graders.registry import Registry


@dataclass(frozen=True)
class Thing:
    name: str
    size: int = 0


def test_register_get_known() -> None:
    things: Registry[Thing] = Registry("thing")
    pebble = things.register(Thing("pebble", 1))
    things.register(Thing("boulder", 9))
    assert things.get("pebble") is pebble
    assert things.known() == ["boulder", "pebble"]


def test_a_second_registration_of_a_name_is_an_error() -> None:
    things: Registry[Thing] = Registry("thing")
    pebble = things.register(Thing("pebble", 1))
    for again in (pebble, Thing("pebble", 1), Thing("pebble", 2)):
        with pytest.raises(ValueError, match="a thing named 'pebble' is already registered"):
            things.register(again)
    assert things.get("pebble") is pebble


def test_an_unknown_name_lists_the_known_ones() -> None:
    things: Registry[Thing] = Registry("thing")
    things.register(Thing("pebble"))
    things.register(Thing("boulder"))
    with pytest.raises(UnknownName, match=r"^unknown thing 'rock'; known: boulder, pebble$") as caught:
        things.get("rock")
    assert (caught.value.what, caught.value.name, caught.value.known) == (
        "thing", "rock", ["boulder", "pebble"])


def test_a_registry_filled_elsewhere_imports_its_filler_on_first_lookup(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "throwaway_things.py").write_text(
        "from heldout.graders.registry import Registry\n"
        "THINGS = Registry('thing', filled_by='throwaway_filler')\n")
    (tmp_path / "throwaway_filler.py").write_text(
        "from tests.graders.test_registry import Thing\n"
        "from throwaway_things import THINGS\n"
        "THINGS.register(Thing('filled'))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import throwaway_things

        assert "throwaway_filler" not in sys.modules
        assert throwaway_things.THINGS.known() == ["filled"]
        assert throwaway_things.THINGS.get("filled").name == "filled"
    finally:
        sys.modules.pop("throwaway_things", None)
        sys.modules.pop("throwaway_filler", None)


@pytest.mark.parametrize(("registry", "what", "one"), [
    (KINDS, "kind", "sql"),
    (CHECKS, "check", "runs-clean"),
    (METRICS, "metric", "roc_auc"),
    (MODELS, "downstream model", "gradient_boosting"),
])
def test_every_plug_in_axis_is_one_of_these(registry: Registry[Thing], what: str,
                                            one: str) -> None:
    assert isinstance(registry, Registry) and registry.what == what
    assert registry.get(one).name == one
    with pytest.raises(UnknownName, match=f"unknown {what} 'nope'; known: "):
        registry.get("nope")
