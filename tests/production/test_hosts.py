"""Three worker hosts drain one queue, and the faults of production, tested for real.

One topology (tests/production/hosts.py) serves every test here: each test makes its own
candidates and submissions and repairs what it broke (a worker, Redis, PostgreSQL). What
is asserted comes from the database and the hosts' disks, never from logs: ``tries``
counts the claims of a submission (a claim is the only way to grade it), the evaluation
rows count its results, and the blob caches tell which host fetched which submission
(each submission's file is unique, and a worker fetches it to grade it).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from heldout.platform.blobs import version_hex
from heldout.sandbox.engine import LABEL, LABEL_HOST, LABEL_OWNER_PID, LABEL_RUNDIR
from tests.production.hosts import FUNCTION, SQL, Topology, wait_for
from tests.production.workload import Row, Workload, bundle_versions, holders

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# Generous: a busy 2-core machine grades a reference submission in a second or two.
BATCH_DEADLINE = 180.0
# A killed worker's job waits for its lease (limit + margin) and the next watchdog tick
# of a surviving worker (each runs it once a minute).
RECOVERY_DEADLINE = 240.0


def assert_graded_once(rows: dict[int, Row], tries: int = 1) -> None:
    for row in rows.values():
        assert row.status == "graded", (row.id, row.status, row.error)
        assert row.evaluations == 1, (row.id, row.evaluations)
        assert row.tries == tries, (row.id, row.tries)
        assert row.score == 100, (row.id, row.score)  # reference solutions


def fetchers(topology: Topology, row: Row) -> list[str]:
    """The hosts that fetched the submission's file: the one that graded it and, when
    another host took it, the one that ran the similarity check queued after the grading
    (it reads the same code)."""
    found = holders(topology, row.file_sha256)
    assert 1 <= len(found) <= 2, (row.id, found)
    return found


def test_three_hosts_drain_one_queue(topology: Topology) -> None:
    with topology.app() as app:
        work = Workload(topology, app, "drain")
        ids = work.batch(9, "drain")
        owners: dict[int, set[str]] = {}
        rows = work.wait_final(ids, BATCH_DEADLINE, watch=owners)

    assert_graded_once(rows)
    by_host: dict[str, list[int]] = {}
    for row in rows.values():
        names = fetchers(topology, row)
        for name in names:
            by_host.setdefault(name, []).append(row.id)
        # Any lease seen while it ran was one of those hosts' (owners read
        # "host-N:life:claim").
        assert {owner.partition(":")[0] for owner in owners.get(row.id, set())} <= set(names)
    assert sorted(by_host) == [host.name for host in topology.hosts], by_host

    for host in topology.hosts:
        graded_slugs = {rows[i].slug for i in by_host[host.name]}
        for slug in graded_slugs:
            # The version it graded against came from the web app into its own store.
            versions = {rows[i].version for i in by_host[host.name] if rows[i].slug == slug}
            assert [path.parent.name for path in bundle_versions(host.data, slug)] == \
                [version_hex(version) for version in versions]
        assert not any(host.challenges.iterdir()), "its challenges directory stays empty"

    sql_rows = [row for row in rows.values() if row.slug == SQL]
    assert sql_rows and all(row.artefacts for row in sql_rows)
    for row in sql_rows:
        for digest in row.artefacts:
            # Written by the worker, sent back: the web app holds it for the report.
            assert (topology.web_data / "blobs" / digest[:2] / digest).is_file()
            assert set(holders(topology, digest)) & set(fetchers(topology, row))


def test_each_host_sees_only_its_own_disk_and_network(topology: Topology) -> None:
    own_net = os.stat("/proc/self/ns/net").st_ino
    for host in topology.hosts:
        worker = topology.workers[host.name]
        assert worker.alive()
        net = os.stat(f"/proc/{worker.pid}/ns/net").st_ino
        assert net == os.stat(f"/run/netns/{host.netns}").st_ino and net != own_net
        for hidden in topology.hidden_from(host):
            assert any(hidden.iterdir()), f"{hidden} holds files on this machine"
            assert list(worker.view(hidden).iterdir()) == [], \
                f"{host.name} sees {hidden}: {list(worker.view(hidden).iterdir())[:5]}"
        # Its own data directory, as on this machine's disk.
        assert sorted(os.listdir(worker.view(host.data))) == sorted(os.listdir(host.data))
        assert os.listdir(host.data)
        mounts = Path(f"/proc/{worker.pid}/mountinfo").read_text()
        for hidden in topology.hidden_from(host):
            assert f" {hidden} " in mounts


def sandbox_containers(docker_client: Any, host: str, pid: int | None = None) -> list[Any]:
    labels = [f"{LABEL}=1", f"{LABEL_HOST}={host}"]
    if pid is not None:
        labels.append(f"{LABEL_OWNER_PID}={pid}")
    return list(docker_client.containers.list(all=True, filters={"label": labels}))


def test_killed_worker_is_graded_once_elsewhere_and_swept(topology: Topology,
                                                           docker_client: Any) -> None:
    with topology.app() as app:
        work = Workload(topology, app, "kill")
        attempt = work.candidate()
        submission_id = work.submit(attempt, FUNCTION, work.code(FUNCTION, "kill", sleep=8))

        def running() -> tuple[str, Row] | None:
            row = work.rows([submission_id])[submission_id]
            if row.status == "running" and row.lease_owner:
                return row.lease_owner.partition(":")[0], row
            return None

        victim_name, _ = wait_for(running, 60, "a worker to claim the slow submission")
        victim = next(host for host in topology.hosts if host.name == victim_name)
        worker = topology.workers[victim_name]
        (container,) = wait_for(lambda: sandbox_containers(docker_client, victim_name,
                                                           worker.pid),
                                30, "its sandbox container")
        run_dir = Path(container.labels[LABEL_RUNDIR])
        assert run_dir.parent == victim.sandbox_runs and run_dir.is_dir()
        grading_dirs = list((victim.data / "runs").iterdir())
        assert [d.name.split("-")[0] for d in grading_dirs] == [str(submission_id)]

        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait(30)
        killed_at = time.monotonic()
        assert work.rows([submission_id])[submission_id].status == "running"

        rows = work.wait_final([submission_id], RECOVERY_DEADLINE)
        recovered_after = time.monotonic() - killed_at
        (row,) = rows.values()
        assert row.status == "graded", row.error
        assert row.evaluations == 1 and row.score == 100
        assert row.tries == 2  # the killed claim, then one other
        holder = holders(topology, row.file_sha256)
        # Fetched by both lives of the grading, and maybe by the host of the similarity
        # check queued after it.
        assert victim_name in holder and 2 <= len(holder) <= 3, holder
        print(f"re-graded by {set(holder) - {victim_name}} {recovered_after:.1f} s after the kill")

        # The orphan outlived its worker, as after a real crash; a new life sweeps it.
        assert sandbox_containers(docker_client, victim_name, worker.pid)
        topology.restart_worker(victim)
        wait_for(lambda: not sandbox_containers(docker_client, victim_name, worker.pid), 60,
                 "the restarted worker to remove the orphan container")
        assert not run_dir.exists()
        assert not any((victim.data / "runs").iterdir()), \
            list((victim.data / "runs").iterdir())
        again = work.rows([submission_id])[submission_id]
        assert (again.status, again.tries, again.evaluations) == ("graded", 2, 1)



def waiting_ids(app: Any, raw: list[bytes]) -> set[int]:
    """The submission ids of the grading jobs in a list of Huey's messages."""
    from heldout.platform.queue import get_queue
    from heldout.platform.services.grading import SUBMISSIONS

    with app.app_context():
        huey = get_queue().huey
        messages = [huey.serializer.deserialize(item) for item in raw]
    return {int(m.args[0]) for m in messages if m.name.endswith(SUBMISSIONS.kind) and m.args}


def some_running_some_queued(work: Workload, ids: list[int]) -> dict[int, Row] | None:
    rows = work.rows(ids)
    statuses = [row.status for row in rows.values()]
    return rows if "running" in statuses and "queued" in statuses else None


def test_redis_killed_mid_batch_loses_no_queued_submission(topology: Topology) -> None:
    assert topology.redis is not None
    with topology.app() as app:
        from heldout.platform.queue import get_queue

        with app.app_context():
            queue_key = str(get_queue().huey.storage.queue_key)
        work = Workload(topology, app, "redis")
        first = work.batch(6, "redis-a", sleep=3)
        wait_for(lambda: some_running_some_queued(work, first), 60,
                 "some submissions running while others wait in the queue")

        topology.redis.kill()
        on_disk = waiting_ids(app, topology.redis.read_list_from_disk(queue_key))
        assert on_disk and on_disk <= set(first), on_disk

        # Every submission still queued is in the append-only file, or held by a worker
        # that took its job just before the kill (and claims it: the database is up).
        def accounted() -> set[int] | None:
            queued = {row.id for row in work.rows(first).values() if row.status == "queued"}
            return queued if queued <= on_disk else None

        wait_for(accounted, 60, "every queued submission to be in the append-only file")
        time.sleep(2)  # the workers keep asking a dead Redis meanwhile

        topology.redis.start()
        second = work.batch(3, "redis-b")  # after the restart: the workers reconnected
        rows = work.wait_final(first + second, BATCH_DEADLINE)
    assert_graded_once(rows)


def test_postgres_restarted_mid_batch_loses_nothing(topology: Topology) -> None:
    assert topology.postgres is not None
    with topology.app() as app:
        work = Workload(topology, app, "postgres")
        first = work.batch(6, "pg-a", sleep=3)
        wait_for(lambda: some_running_some_queued(work, first), 60,
                 "some submissions running while others wait in the queue")

        # Those claimed by now may lose their result with their connection and be claimed
        # again once their lease is stale; any other submission is claimed once.
        may_rerun = {row.id for row in work.rows(first).values() if row.status != "queued"}
        topology.postgres.stop("fast")
        stopped_at = time.monotonic()
        time.sleep(2)
        topology.postgres.start()
        second = work.batch(3, "pg-b")
        rows = work.wait_final(first + second, RECOVERY_DEADLINE)
        print(f"all graded {time.monotonic() - stopped_at:.1f} s after the stop; "
              f"claimed twice: {sorted(r.id for r in rows.values() if r.tries > 1)} "
              f"of those running then: {sorted(may_rerun)}")
    for row in rows.values():
        assert row.status == "graded", (row.id, row.status, row.error)
        assert row.evaluations == 1 and row.score == 100, row
        assert row.tries == 1 or (row.id in may_rerun and row.tries == 2), row
