"""The sandbox contract, checked on the real Docker engine."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from heldout.sandbox import JobSpec, Limits, RunResult, run
from heldout.sandbox.engine import LABEL, LABEL_OWNER_PID
from heldout.sandbox.pool import WarmPool
from heldout.sandbox.spec import RUN_UIDS

pytestmark = pytest.mark.docker

_LIVE_POOLS: list[WarmPool] = []  # their pre-started containers are expected to exist


def run_code(tmp_path: Path, *, code: str, limits: Limits | None = None,
             data: dict[str, str] | None = None, files: dict[str, str] | None = None,
             harness: dict[str, str] | None = None, pool: WarmPool | None = None) -> RunResult:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "main.py").write_text(textwrap.dedent(code))
    for name, text in (files or {}).items():
        (workspace / name).write_text(text)
    data_dir = None
    if data is not None:
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        for name, text in data.items():
            (data_dir / name).write_text(text)
    harness_dir = None
    if harness is not None:
        harness_dir = tmp_path / "harness"
        harness_dir.mkdir()
        for name, text in harness.items():
            (harness_dir / name).write_text(text)
    spec = JobSpec(command=("python", "main.py"), workspace=workspace, data=data_dir,
                   harness=harness_dir, limits=limits or Limits(wall_seconds=30))
    if pool is None:
        return run(spec, tmp_path / "out")
    pool.prime(spec.limits)
    assert pool.wait_warm(1, timeout=60, limits=spec.limits), "no warm container became ready"
    result = run(spec, tmp_path / "out", pool=pool)
    assert result.warm, "the job did not run in the warm container"
    return result


@pytest.fixture(scope="module")
def warm_pool(docker_client: Any, sandbox_image: str) -> Iterator[WarmPool]:
    pool = WarmPool(docker_client, size=1)
    _LIVE_POOLS.append(pool)
    yield pool
    _LIVE_POOLS.remove(pool)
    pool.close()


@pytest.fixture(params=["cold", "warm"])
def pool(request: pytest.FixtureRequest) -> WarmPool | None:
    """Every protection must hold the same in a cold and in a pre-started container."""
    if request.param == "cold":
        return None
    pool: WarmPool = request.getfixturevalue("warm_pool")
    return pool


@pytest.fixture(autouse=True)
def _no_leftover_containers(docker_client: Any, sandbox_image: str) -> Any:
    yield
    held = {cid for pool in _LIVE_POOLS for cid in pool.container_ids()}
    mine = [f"{LABEL}=1", f"{LABEL_OWNER_PID}={os.getpid()}"]
    left = [c for c in docker_client.containers.list(all=True, filters={"label": mine})
            if c.id not in held]
    assert left == [], f"sandbox containers left behind: {[c.name for c in left]}"


def test_runs_as_unprivileged_user_in_workspace(tmp_path: Path, pool: WarmPool | None) -> None:
    result = run_code(tmp_path, pool=pool, code="""
        import os
        status = open("/proc/self/status").read()
        caps = [l for l in status.splitlines() if l.startswith(("CapEff", "CapPrm", "NoNewPrivs"))]
        print(os.getuid(), os.getgid(), os.getcwd(), os.environ["HELDOUT_DATA"], os.environ["HELDOUT_OUTPUT"])
        print(*caps, sep="\\n")
    """)
    assert result.exit_code == 0, result.stderr_tail
    lines = result.stdout_tail.splitlines()
    uid, gid, rest = lines[0].split(" ", 2)
    assert int(uid) in RUN_UIDS and uid == gid
    assert rest == "/workspace /data /output"
    assert "CapEff:\t0000000000000000" in lines
    assert "CapPrm:\t0000000000000000" in lines
    assert "NoNewPrivs:\t1" in lines


def test_workspace_data_and_root_are_read_only(tmp_path: Path, pool: WarmPool | None) -> None:
    result = run_code(tmp_path, pool=pool, code="""
        import errno
        for path in ("/workspace/x", "/data/x", "/x", "/etc/x", "/opt/venv/x"):
            try:
                open(path, "w")
                print(path, "WRITABLE")
            except OSError as exc:
                print(path, errno.errorcode[exc.errno])
        print(open("/data/public.csv").read().strip())
    """, data={"public.csv": "id,x\n1,2"})
    assert result.exit_code == 0, result.stderr_tail
    assert "WRITABLE" not in result.stdout_tail
    assert "id,x\n1,2" in result.stdout_tail


def test_harness_is_readable_but_never_writable(tmp_path: Path, pool: WarmPool | None) -> None:
    result = run_code(tmp_path, pool=pool, code="""
        import errno, os, shutil, sys
        sys.path.insert(0, "/harness")
        import trusted
        print("imported", trusted.VALUE)
        attempts = {
            "create": lambda: open("/harness/new.py", "w"),
            "overwrite": lambda: open("/harness/trusted.py", "w"),
            "append": lambda: open("/harness/inputs.jsonl", "a"),
            "remove": lambda: os.remove("/harness/inputs.jsonl"),
            "rename": lambda: os.rename("/harness/trusted.py", "/harness/t.py"),
            "chmod": lambda: os.chmod("/harness/trusted.py", 0o777),
            "mkdir": lambda: os.mkdir("/harness/sub"),
            "rmtree": lambda: shutil.rmtree("/harness"),
        }
        for name, attempt in attempts.items():
            try:
                attempt()
                print(name, "WRITABLE")
            except OSError as exc:
                print(name, errno.errorcode[exc.errno])
        print(open("/harness/inputs.jsonl").read().strip())
        mounts = [line.split() for line in open("/proc/self/mounts")]
        print("mount", [m[3].split(",")[0] for m in mounts if m[1] == "/harness"])
    """, harness={"trusted.py": "VALUE = 42\n", "inputs.jsonl": '{"x": 1}\n'})
    assert result.exit_code == 0, result.stderr_tail
    lines = result.stdout_tail.splitlines()
    assert lines[0] == "imported 42"
    assert "WRITABLE" not in result.stdout_tail
    assert len([line for line in lines if line.endswith(("EROFS", "EACCES", "EPERM"))]) == 8
    assert '{"x": 1}' in lines
    assert "mount ['ro']" in lines
    assert (tmp_path / "harness" / "trusted.py").read_text() == "VALUE = 42\n"


def test_without_a_harness_the_mount_is_empty(tmp_path: Path, pool: WarmPool | None) -> None:
    result = run_code(tmp_path, pool=pool, code="import os; print(sorted(os.listdir('/harness')))")
    assert result.exit_code == 0, result.stderr_tail
    assert result.stdout_tail.strip() == "[]"


def test_output_files_are_copied_and_links_are_not_followed(tmp_path: Path, pool: WarmPool | None) -> None:
    result = run_code(tmp_path, pool=pool, code="""
        import os
        os.makedirs("/output/sub")
        open("/output/predictions.csv", "w").write("id,p\\n1,0.5\\n")
        open("/output/sub/model.txt", "w").write("weights")
        os.symlink("/etc/passwd", "/output/passwd")
        os.symlink("/proc/self/environ", "/output/env")
        os.mkfifo("/output/fifo")
    """)
    assert result.exit_code == 0, result.stderr_tail
    names = {item.name: item for item in result.outputs}
    assert set(names) == {"predictions.csv", "sub/model.txt"}
    assert names["predictions.csv"].path.read_text() == "id,p\n1,0.5\n"
    assert result.output_bytes == len("id,p\n1,0.5\n") + len("weights")
    skipped = "\n".join(result.skipped_outputs)
    assert "passwd (symbolic link" in skipped and "env (symbolic link" in skipped
    assert "fifo (not a regular file)" in skipped
    assert not (tmp_path / "out" / "passwd").exists()


def test_busy_loop_is_killed_at_the_wall_limit(tmp_path: Path, pool: WarmPool | None) -> None:
    result = run_code(tmp_path, pool=pool, code="while True: pass\n", limits=Limits(wall_seconds=3))
    assert result.timed_out and result.limit == "time"
    assert result.exit_code == 137 and result.signal == 9
    assert 3.0 <= result.wall_seconds < 8.0
    assert result.cpu_seconds > 0.5  # most of the 3 s, unless the host is very busy


def test_memory_bomb_is_oom_killed(tmp_path: Path, pool: WarmPool | None) -> None:
    result = run_code(tmp_path, pool=pool, code="""
        chunks = []
        while True:
            chunks.append(bytearray(16 * 1024 * 1024))
    """, limits=Limits(wall_seconds=30, memory_mb=256))
    assert result.oom_killed and result.limit == "memory"
    assert not result.timed_out
    assert 200 <= result.peak_memory_mb <= 260


def test_no_network_at_all(tmp_path: Path, pool: WarmPool | None) -> None:
    result = run_code(tmp_path, pool=pool, code="""
        import os, socket
        names = [name for _, name in socket.if_nameindex()]
        print("interfaces", sorted(names))
        for target in [("1.1.1.1", 53), ("172.17.0.1", 2375), ("127.0.0.1", 5000)]:
            try:
                socket.create_connection(target, timeout=2)
                print(target, "CONNECTED")
            except OSError as exc:
                print(target, type(exc).__name__)
        # A query to every resolver the image knows of: none may even be sent.
        servers = [line.split()[1] for line in open("/etc/resolv.conf")
                   if line.startswith("nameserver")] if os.path.exists("/etc/resolv.conf") else []
        query = bytes.fromhex("123401000001000000000000" + "076578616d706c6507696e76616c6964" + "0000010001")
        for server in servers or ["10.0.0.2"]:
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.settimeout(2)
            try:
                udp.sendto(query, (server, 53))
                udp.recvfrom(512)
                print("dns", server, "RESOLVED")
            except OSError as exc:
                print("dns", server, type(exc).__name__)
    """)
    assert result.exit_code == 0, result.stderr_tail
    assert "interfaces ['lo']" in result.stdout_tail
    assert "CONNECTED" not in result.stdout_tail and "RESOLVED" not in result.stdout_tail
    dns = [line for line in result.stdout_tail.splitlines() if line.startswith("dns ")]
    # Refused at once (no route), not sent and left unanswered.
    assert dns and all(line.endswith(" OSError") for line in dns), dns


def test_fork_bomb_hits_the_process_limit(tmp_path: Path, pool: WarmPool | None) -> None:
    result = run_code(tmp_path, pool=pool, code="""
        import os, time
        children = 0
        try:
            while True:
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                children += 1
        except OSError as exc:
            print("refused after", children, exc.strerror)
    """, limits=Limits(wall_seconds=20, pids=32))
    assert "refused after" in result.stdout_tail
    refused_after = int(result.stdout_tail.split("refused after")[1].split()[0])
    assert refused_after < 32


def test_output_is_capped_by_the_filesystem(tmp_path: Path, pool: WarmPool | None) -> None:
    result = run_code(tmp_path, pool=pool, code="""
        import errno
        try:
            with open("/output/big.bin", "wb") as f:
                for _ in range(64):
                    f.write(b"x" * 1024 * 1024)
            print("WROTE ALL")
        except OSError as exc:
            print("stopped", errno.errorcode[exc.errno])
    """, limits=Limits(wall_seconds=30, output_mb=8, file_size_mb=64))
    assert "stopped ENOSPC" in result.stdout_tail
    assert result.output_bytes <= 8 * 1024 * 1024


def test_file_size_ulimit(tmp_path: Path, pool: WarmPool | None) -> None:
    result = run_code(tmp_path, pool=pool, code="""
        import signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        try:
            with open("/tmp/f", "wb") as f:
                f.write(b"x" * 3 * 1024 * 1024)
            print("WROTE")
        except OSError as exc:
            print("refused", exc.errno)
    """, limits=Limits(wall_seconds=30, file_size_mb=2))
    assert "refused 27" in result.stdout_tail  # EFBIG


def test_stdout_flood_is_truncated(tmp_path: Path, pool: WarmPool | None) -> None:
    result = run_code(tmp_path, pool=pool, code="""
        import sys
        line = "y" * 1023 + "\\n"
        for _ in range(2_000):
            sys.stdout.write(line)
        print("THE END")
    """, limits=Limits(wall_seconds=30, log_bytes=4096))
    assert result.stdout_truncated
    assert result.stdout_tail.rstrip().endswith("THE END")
    assert len(result.stdout_tail) < 4096 + 200


def test_crash_is_reported_with_its_exit_code(tmp_path: Path, pool: WarmPool | None) -> None:
    result = run_code(tmp_path, pool=pool, code="raise SystemExit(3)\n")
    assert result.exit_code == 3 and not result.timed_out and result.limit is None


def test_unreadable_host_directories_are_staged(tmp_path: Path) -> None:
    # tempfile.mkdtemp makes 0700 directories the sandbox user could not enter.
    workspace, data = tmp_path / "ws", tmp_path / "data"
    for directory, name, text in ((workspace, "main.py", "print(open('/data/a.txt').read())"),
                                  (data, "a.txt", "secret-free public data")):
        directory.mkdir(mode=0o700)
        (directory / name).write_text(text)
        (directory / name).chmod(0o600)
    result = run(JobSpec(command=("python", "main.py"), workspace=workspace, data=data,
                         limits=Limits(wall_seconds=30)), tmp_path / "out")
    assert result.exit_code == 0, result.stderr_tail
    assert result.stdout_tail.strip() == "secret-free public data"


def test_io_uring_and_userfaultfd_are_blocked(tmp_path: Path, pool: WarmPool | None) -> None:
    result = run_code(tmp_path, pool=pool, code="""
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        params = ctypes.create_string_buffer(120)
        for name, number, args in (("io_uring_setup", 425, (4, params)), ("userfaultfd", 323, (0,))):
            ret = libc.syscall(number, *args)
            print(name, ret, os.strerror(ctypes.get_errno()))
    """)
    assert "io_uring_setup -1 Function not implemented" in result.stdout_tail
    assert "userfaultfd -1 Function not implemented" in result.stdout_tail


def test_job_sees_its_own_argv_name_and_exceptions(tmp_path: Path, pool: WarmPool | None) -> None:
    result = run_code(tmp_path, pool=pool, code="""
        import sys
        print(__name__, sys.argv, sys.path[0])
        import helper
        helper.boom()
    """, files={"helper.py": "def boom():\n    raise ValueError('bad input')\n"})
    assert result.exit_code == 1
    assert "__main__ ['main.py'] /workspace" in result.stdout_tail
    assert "ValueError: bad input" in result.stderr_tail
    assert 'helper.py", line 2, in boom' in result.stderr_tail


def test_cpu_and_memory_are_accounted(tmp_path: Path, pool: WarmPool | None) -> None:
    result = run_code(tmp_path, pool=pool, code="""
        import time
        block = bytearray(300 * 1024 * 1024)
        end = time.process_time() + 1.5
        while time.process_time() < end:
            pass
    """)
    assert result.exit_code == 0, result.stderr_tail
    assert 1.4 <= result.cpu_seconds <= 3.0
    assert 300 <= result.peak_memory_mb <= 600


def test_orphaned_containers_are_swept(docker_client: Any, sandbox_image: str) -> None:
    from heldout.sandbox.engine import LABEL_HOST, sweep_orphans

    # A container whose owning worker (pid 2**22 - 1, never alive here) is gone.
    orphan = docker_client.containers.create(
        sandbox_image, command=["sleep", "60"], network_mode="none",
        labels={LABEL: "1", LABEL_HOST: __import__("socket").gethostname(),
                LABEL_OWNER_PID: str(2**22 - 1)})
    orphan.start()
    removed = sweep_orphans(docker_client)
    assert orphan.id in removed.containers
    assert docker_client.containers.list(all=True, filters={"id": orphan.id}) == []


def test_engine_down_is_a_platform_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from heldout.sandbox.errors import EngineUnavailable, SandboxError

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "main.py").write_text("print('hi')\n")
    with pytest.raises(EngineUnavailable) as info:
        run(JobSpec(command=("python", "main.py"), workspace=workspace), tmp_path / "out")
    assert isinstance(info.value, SandboxError)
    assert "no Docker engine answers" in str(info.value)


def test_concurrent_runs_have_their_own_user_ids(tmp_path: Path, docker_client: Any,
                                                  sandbox_image: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def one(index: int) -> str:
        base = tmp_path / str(index)
        base.mkdir()
        return run_code(base, code="import os, time; time.sleep(1); print(os.getuid())").stdout_tail

    with ThreadPoolExecutor(max_workers=3) as executor:
        uids = {int(out) for out in executor.map(one, range(3))}
    assert len(uids) == 3 and uids <= set(RUN_UIDS)


def test_a_short_burst_is_accounted_exactly(tmp_path: Path, pool: WarmPool | None) -> None:
    # Allocates and exits at once: sampling while it runs would miss it; the run's
    # parent cgroup keeps the kernel's own peak after the container is gone.
    result = run_code(tmp_path, pool=pool, code="""
        block = bytearray(200 * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
    """)
    assert result.exit_code == 0, result.stderr_tail
    assert result.peak_memory_mb >= 200
    assert result.cpu_seconds > 0


# What a submission can see of how its interpreter was started. Run in a cold and in a
# warm container, the two reports must be equal but for the modules the warm-up loaded.
_STATE_PROBE = """
    import gc, json, os, signal, sys, threading, warnings

    def fds():
        found = []
        for name in sorted(os.listdir("/proc/self/fd"), key=int):
            try:
                target = os.readlink(f"/proc/self/fd/{name}")
            except OSError:
                continue  # the listing's own descriptor, closed by now
            found.append([int(name), target.split(":[")[0]])
        return found

    def traces():
        # Containers still holding a string of the warm-up or the launcher's job.
        # Joined at run time: a literal would be a constant of this very code.
        markers = ["".join(parts) for parts in
                   (["HELDOUT_", "PRELOAD"], ["HELDOUT_", "JOB"], ["/run/", "heldout"])]
        hits = []
        for item in gc.get_objects():
            if item is markers or item is hits:
                continue
            if isinstance(item, dict):
                values = [*item.keys(), *item.values()]
            elif isinstance(item, (list, tuple)):
                values = list(item)
            else:
                continue
            for value in values:
                if isinstance(value, bytes):
                    value = value.decode("latin-1")
                if isinstance(value, str) and any(m in value for m in markers):
                    hits.append(type(item).__name__ + ":" + value[:80])
        return sorted(hits)

    def own():
        return sorted(name for name, module in list(sys.modules.items())
                      if str(getattr(module, "__file__", "")).startswith("/workspace"))

    def state():
        # Reachable traces are looked for once, before this report holds copies of them.
        return {"own_modules": own(), "cwd": os.getcwd(), "argv": sys.argv,
                "path": sys.path, "environ": dict(os.environ), "fds": fds(),
                "threads": [t.name for t in threading.enumerate()],
                "main_globals": sorted(globals()),
                "signals": [str(signal.getsignal(s)) for s in
                            (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD)]}

    report = {"preloaded": "sklearn" in sys.modules, "traces": traces(), "start": state()}
    import helper
    report["helper"] = helper.__file__
    report["own_after_import"] = own()
    for name in STACK:
        __import__(name)
    report["after_stack"] = state()
    report["after_stack"]["modules"] = sorted(sys.modules)
    # Filters the libraries install when imported (a warm start has them from the start).
    report["after_stack"]["warnings"] = [repr(f) for f in warnings.filters]
    report["after_stack"]["tasks"] = len(os.listdir("/proc/self/task"))
    print(json.dumps(report))
"""


def _state_of(tmp_path: Path, pool: WarmPool | None, code: str, files: dict[str, str]) -> Any:
    import json

    result = run_code(tmp_path, pool=pool, code=code, files=files)
    assert result.exit_code == 0, result.stderr_tail
    return json.loads(result.stdout_tail.splitlines()[-1]), result.stderr_tail


def test_a_warm_run_looks_like_a_cold_start(tmp_path: Path, warm_pool: WarmPool) -> None:
    """The warm-up leaves no trace a submission can find: its own modules are imported
    fresh, and cwd, environment, argv, open files, threads, handlers and reachable objects
    are what a cold start gives; only the library modules are already loaded."""
    from heldout.sandbox.pool import DEFAULT_PRELOAD

    code = textwrap.dedent(_STATE_PROBE).replace("STACK", repr(DEFAULT_PRELOAD))
    files = {"helper.py": "VALUE = 1\n"}
    (tmp_path / "cold").mkdir()
    (tmp_path / "warm").mkdir()
    cold, cold_err = _state_of(tmp_path / "cold", None, code, files)
    warm, warm_err = _state_of(tmp_path / "warm", warm_pool, code, files)
    assert (cold["preloaded"], warm["preloaded"]) == (False, True)
    assert warm["traces"] == cold["traces"]
    assert warm["start"] == cold["start"]
    assert warm["helper"] == cold["helper"] == "/workspace/helper.py"
    assert warm["own_after_import"] == cold["own_after_import"] == ["helper"]
    assert warm["after_stack"] == cold["after_stack"]
    assert warm_err == cold_err


def test_a_module_named_like_a_preloaded_library_is_the_submissions_own(
        tmp_path: Path, warm_pool: WarmPool) -> None:
    # A cold start imports the submission's lightgbm.py, which comes first on its path.
    files = {"lightgbm.py": "WHO = 'own'\n"}
    code = "import lightgbm\nprint(lightgbm.WHO, lightgbm.__file__)\n"
    for name, pool in (("cold", None), ("warm", warm_pool)):
        (tmp_path / name).mkdir()
        result = run_code(tmp_path / name, pool=pool, code=code, files=files)
        assert result.exit_code == 0, (name, result.stderr_tail)
        assert result.stdout_tail.strip() == "own /workspace/lightgbm.py", name
