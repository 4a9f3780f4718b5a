"""Every attack of the catalogue, run through the real engine, ends in its declared outcome."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.docker


def test_attack_is_contained(attack: Any, adversary: Any) -> None:
    adversary.check(attack, adversary.launch(attack))


def test_attack_is_contained_in_a_warm_container(warm_attack: Any, adversary: Any,
                                                 warm_pools: Any) -> None:
    pool = warm_pools(adversary.limits(warm_attack))
    adversary.check(warm_attack, adversary.launch(warm_attack, pool=pool), warm=True)
