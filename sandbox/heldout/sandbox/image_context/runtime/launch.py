"""Launcher of every sandbox job, PID 2 of its container (docker-init is PID 1).

First it stacks heldout's extra seccomp filter. A cold container gets its job in
HELDOUT_JOB. A warm (pre-started) one imports the scientific stack before any submission
exists, then blocks on the job pipe; the host writes exactly one job, which runs in this
same, already warm interpreter. Either way the container is never reused afterwards.
"""

import atexit
import contextlib
import importlib.machinery
import json
import os
import runpy
import sys
import threading
import traceback
import warnings

import seccomp_extra

PIPE = "/run/heldout/job"


def preload(names: list) -> set:
    """Import ``names``; the top-level names of every module that brought in.

    What the imports leave behind is what they would leave in a cold start that imports
    the same libraries (the warning filters they install stay); what they would not
    (the warnings they raise, environment variables they set) is undone.
    """
    before = set(sys.modules)
    environ = dict(os.environ)
    warnings.simplefilter("ignore")
    silence = warnings.filters[0]
    try:
        for name in names:
            # A library missing from the image must not stop the launcher.
            with contextlib.suppress(Exception):
                __import__(name)
    finally:
        warnings.filters.remove(silence)
        warnings._filters_mutated()
    if dict(os.environ) != environ:
        os.environ.clear()
        os.environ.update(environ)
    return {module.split(".")[0] for module in set(sys.modules) - before}


def shadowed(directory: str, loaded: set) -> bool:
    """Whether ``directory`` (first on the job's path) holds a module of its own named
    like one the warm-up loaded: a cold start would import the job's, a warm one has the
    library's already."""
    suffixes = tuple(importlib.machinery.all_suffixes())
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return False
    for entry in entries:
        name = entry.name.split(".")[0]
        if name not in loaded:
            continue
        if entry.name.endswith(suffixes):
            return True
        if entry.is_dir() and any(os.path.exists(os.path.join(entry.path, "__init__" + suffix))
                                  for suffix in suffixes):
            return True
    return False


def read_job() -> dict:
    """Wait for one newline-terminated job on the pipe.

    Opened read-write, the pipe never reports end-of-file while we wait, so the host can
    check readiness (an open for writing succeeds only once we hold the pipe) at any time
    without disturbing us.
    """
    fd = os.open(PIPE, os.O_RDWR)
    buffer = b""
    while not buffer.endswith(b"\n"):
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buffer += chunk
        if len(buffer) > 1024 * 1024:
            break
    os.close(fd)
    return json.loads(buffer)


def run_python(argv: list) -> int:
    """Run ``python FILE args`` or ``python -m MODULE args`` as the real interpreter would."""
    args = argv[1:]
    try:
        if args[:1] == ["-m"] and len(args) >= 2:
            sys.argv = [args[1], *args[2:]]
            sys.path.insert(0, os.getcwd())
            runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = list(args)
            sys.path.insert(0, os.path.dirname(os.path.abspath(args[0])))
            runpy.run_path(args[0], run_name="__main__")
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def main() -> None:
    try:
        seccomp_extra.install()
    except Exception as exc:
        print(f"heldout-launcher: could not install the seccomp filter: {exc}", file=sys.stderr)
        sys.exit(125)
    inline = os.environ.pop("HELDOUT_JOB", None)
    warm_names = os.environ.pop("HELDOUT_PRELOAD", None)
    loaded = set()
    if inline is not None:
        job = json.loads(inline)
    else:
        loaded = preload([n for n in (warm_names or "").split(",") if n])
        job = read_job()
    argv = job["argv"]
    simple_python = argv[0] in ("python", "python3") and len(argv) >= 2 and (
        argv[1] == "-m" or not argv[1].startswith("-"))
    cwd = job.get("cwd", "/workspace")
    if simple_python and loaded:
        first = cwd if argv[1] == "-m" else os.path.dirname(os.path.join(cwd, argv[1]))
        if shadowed(first, loaded):
            # Start this job cold, in this same container.
            os.environ["HELDOUT_JOB"] = json.dumps(job)
            os.execv(sys.executable, [sys.executable, os.path.abspath(__file__)])  # noqa: S606
    os.environ.update(job.get("env", {}))
    os.chdir(cwd)
    del inline, warm_names, loaded, cwd
    if not simple_python:
        os.execvp(argv[0], argv)  # noqa: S606 - the job's own command, as given
    sys.path[:] = [p for p in sys.path if p not in ("", "/opt/heldout")]
    code = run_python(argv)
    finish(code)


def finish(code: int) -> None:
    """Exit as the interpreter would, minus tearing down every imported module.

    Finalising numpy, pandas and scikit-learn takes longer than many jobs; the container
    is thrown away anyway. Non-daemon threads are waited for and atexit handlers run, as
    the job may rely on either.
    """
    main = threading.main_thread()
    for thread in threading.enumerate():
        if thread is not main and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed stream must not change the status
            stream.flush()
    os._exit(code & 0xFF if code >= 0 else 1)


if __name__ == "__main__":
    main()
