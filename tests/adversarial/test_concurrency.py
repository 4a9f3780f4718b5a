"""An honest submission graded while hostile ones run beside it scores exactly as it does alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

pytestmark = pytest.mark.docker

NEIGHBOURS = ("mem_growing_list", "mem_tmp_tmpfs_fill", "proc_fork_bomb", "time_cpu_burners")


def test_honest_run_is_graded_the_same_next_to_hostile_ones(
        adversary: Any, catalogue: dict[str, Any], honest: Any) -> None:
    alone = adversary.launch(honest)
    adversary.check(honest, alone)
    hostile = [catalogue[name] for name in NEIGHBOURS]
    for attack in (honest, *hostile):
        adversary.bundle(attack)  # made up front, not from the threads
    with ThreadPoolExecutor(max_workers=1 + len(hostile)) as threads:
        honest_future = threads.submit(adversary.launch, honest)
        hostile_futures = [threads.submit(adversary.launch, attack) for attack in hostile]
        together = honest_future.result()
        hostile_outcomes = [future.result() for future in hostile_futures]
    adversary.check(honest, together)
    for attack, outcomes in zip(hostile, hostile_outcomes, strict=True):
        adversary.check(attack, outcomes)
    assert together[0].score == alone[0].score, (
        f"the honest score changed next to hostile runs: {alone[0].score} alone, "
        f"{together[0].score} together")
    assert together[0].details[1:] == alone[0].details[1:]


def test_honest_warm_run_is_graded_the_same_next_to_a_fork_bomb(
        adversary: Any, catalogue: dict[str, Any], honest: Any, warm_pools: Any) -> None:
    alone = adversary.launch(honest)
    pool = warm_pools(adversary.limits(honest))
    bomb = catalogue["proc_fork_bomb"]
    adversary.bundle(bomb)
    with ThreadPoolExecutor(max_workers=2) as threads:
        bomb_future = threads.submit(adversary.launch, bomb)
        together = threads.submit(adversary.launch, honest, pool=pool).result()
        adversary.check(bomb, bomb_future.result())
    adversary.check(honest, together, warm=True)
    assert together[0].score == alone[0].score
