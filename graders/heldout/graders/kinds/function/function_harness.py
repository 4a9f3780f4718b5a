"""Call a candidate's functions on test-case inputs inside the sandbox; write the outputs.

Runs as ``python /harness/function_harness.py ENTRYPOINT`` with this directory mounted
read-only at /harness: ``cases.json`` (each case's call, never its answer) and
``inputs/`` (data files the calls reference). It imports the candidate module once, then
runs each case in a forked child with its own deadline, and appends one JSON line per
case to ``$HELDOUT_OUTPUT/results.jsonl``. The host compares those with the answers.

Each case runs in its own child so that a case that hangs (even in C code, or ignoring
signals), exits the process or corrupts module state fails alone; the parent kills it at
its deadline. This file runs in the sandbox image: standard library, numpy and pandas only.
"""

import contextlib
import importlib.util
import json
import math
import os
import select
import signal
import sys
import time
import traceback
from types import ModuleType
from typing import Any, NoReturn

HERE = os.path.dirname(os.path.abspath(__file__))
INPUTS = os.path.join(HERE, "inputs")
RESULTS = "results.jsonl"
MAX_ERROR_CHARS = 300
EXIT_IMPORT_FAILED = 3


class Unsupported(TypeError):
    """A returned value has no JSON form the host can compare."""


def encode(value: Any, depth: int = 0) -> Any:
    """A Python / numpy / pandas value as tagged JSON (see heldout.graders.compare)."""
    if depth > 60:
        raise Unsupported("the value is nested too deeply")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": str(value)}
    module = type(value).__module__ or ""
    if module.startswith("numpy"):
        import numpy as np

        if isinstance(value, np.ndarray):
            return {"$ndarray": _array_body(value)}
        if isinstance(value, np.generic):
            return encode(value.item(), depth + 1)
    if module.startswith("pandas"):
        import pandas as pd

        if isinstance(value, pd.DataFrame):
            columns = [str(c) for c in value.columns]
            if len(set(columns)) != len(columns):
                raise Unsupported("the DataFrame has duplicate column names")
            return {"$dataframe": {
                "columns": columns,
                "dtypes": [str(value[c].dtype) for c in value.columns],
                "data": [[_scalar(v) for v in value[c].tolist()] for c in value.columns]}}
        if isinstance(value, pd.Series):
            return {"$series": {"dtype": str(value.dtype),
                                "data": [_scalar(v) for v in value.tolist()]}}
    if isinstance(value, list | tuple):
        return [encode(item, depth + 1) for item in value]
    if isinstance(value, set | frozenset):
        return {"$set": [encode(item, depth + 1) for item in value]}
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise Unsupported("dict keys must be strings")
        return {key: encode(item, depth + 1) for key, item in value.items()}
    raise Unsupported(f"a value of type {type(value).__name__} can't be compared")


def _scalar(item: Any) -> Any:
    if hasattr(item, "item") and type(item).__module__.startswith("numpy"):
        item = item.item()
    if item is None or isinstance(item, bool | int | str):
        return item
    if isinstance(item, float):
        return item if math.isfinite(item) else {"$float": str(item)}
    if type(item).__name__ in ("NAType", "NaTType"):
        return None
    raise Unsupported(f"an array holds a {type(item).__name__}")


def _array_body(array: Any) -> dict[str, Any]:
    if array.dtype.kind not in "biufUO":
        raise Unsupported(f"arrays of dtype {array.dtype} can't be compared")
    return {"dtype": str(array.dtype), "shape": list(array.shape),
            "data": [_scalar(v) for v in array.ravel().tolist()]}


def decode(raw: Any) -> Any:
    """Tagged JSON inputs as numpy / pandas values; ``$file`` loads from inputs/."""
    if isinstance(raw, list):
        return [decode(item) for item in raw]
    if not isinstance(raw, dict):
        return raw
    if len(raw) == 1:
        (tag, body), = raw.items()
        if tag == "$float":
            return float(body)
        if tag == "$set":
            return {decode(item) for item in body}
        if tag == "$file":
            return _load(body)
        if tag in ("$ndarray", "$series", "$dataframe"):
            return _decode_data(tag, body)
    return {key: decode(item) for key, item in raw.items()}


def _decode_data(tag: str, body: Any) -> Any:
    import numpy as np

    if tag == "$dataframe":
        import pandas as pd

        dtypes = body.get("dtypes") or [None] * len(body["columns"])
        return pd.DataFrame({name: np.array([decode(v) for v in col], dtype=dt)
                             for name, col, dt in zip(body["columns"], body["data"], dtypes,
                                                   strict=True)})
    values = np.array([decode(v) for v in body["data"]], dtype=body.get("dtype"))
    if tag == "$series":
        import pandas as pd

        return pd.Series(values)
    return values.reshape(body.get("shape", [len(values)]))


def _load(relative: str) -> Any:
    path = os.path.join(INPUTS, relative)
    if relative.endswith(".npy"):
        import numpy as np

        return np.load(path, allow_pickle=False)
    if relative.endswith(".csv"):
        import pandas as pd

        return pd.read_csv(path)
    with open(path, encoding="utf-8") as handle:
        return decode(json.load(handle))


def import_candidate(entrypoint: str) -> ModuleType:
    workspace = os.getcwd()
    sys.path.insert(0, workspace)
    name = os.path.splitext(os.path.basename(entrypoint))[0]
    spec = importlib.util.spec_from_file_location(name, os.path.join(workspace, entrypoint))
    if spec is None or spec.loader is None:
        raise ImportError(f"can't import {entrypoint}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "…"


def call_in_child(module: ModuleType, case: dict[str, Any], write_fd: int) -> NoReturn:
    """The child's whole life: call, encode, send, exit (never returns)."""
    try:
        function = getattr(module, case["function"], None)
        if not callable(function):
            payload = {"status": "missing", "error": f"{case['function']} is not defined"}
        else:
            value = function(*decode(case["args"]), **decode(case["kwargs"]))
            try:
                payload = {"status": "ok", "value": encode(value)}
            except Unsupported as exc:
                payload = {"status": "unsupported", "error": str(exc)}
        data = json.dumps(payload, allow_nan=False).encode()
    except BaseException as exc:  # the candidate's failure, reported, never the harness's
        traceback.print_exc()
        data = json.dumps({"status": "error", "error": _short(exc)}).encode()
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(write_fd, view):]
    finally:
        os._exit(0)


def run_case(module: ModuleType, case: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """Run one case in a child with a hard deadline; the child's report, or why none."""
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        os.setpgid(0, 0)  # its own group, so a deadline kills whatever the call started
        call_in_child(module, case, write_fd)
    with contextlib.suppress(OSError):  # the child got there first, or is already gone
        os.setpgid(pid, pid)
    os.close(write_fd)
    deadline = started + case["timeout"]
    chunks: list[bytes] = []
    size = 0
    outcome: dict[str, Any] | None = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            outcome = {"status": "timeout", "error": f"timed out after {case['timeout']:g} s"}
            break
        ready, _, _ = select.select([read_fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(read_fd, 1 << 20)
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            outcome = {"status": "too_large", "error": f"the result is over {max_bytes} bytes"}
            break
        chunks.append(chunk)
    os.close(read_fd)
    if outcome is not None:
        _kill(pid)
    _, status = os.waitpid(pid, 0)
    seconds = round(time.monotonic() - started, 3)
    if outcome is None:
        try:
            outcome = json.loads(b"".join(chunks))
            if not isinstance(outcome, dict) or "status" not in outcome:
                raise ValueError("no status")
        except ValueError:
            outcome = {"status": "crashed", "error": _death(status)}
    return {"id": case["id"], "seconds": seconds, **outcome}


def _kill(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def _death(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"the call's process was killed by signal {os.WTERMSIG(status)}"
    if os.WIFEXITED(status):
        return f"the call's process exited with code {os.WEXITSTATUS(status)} before returning"
    return "the call's process ended before returning"


def import_ahead(names: list[str]) -> None:
    """Import the runtime profile's heavy modules once, here, before any case is forked:
    a child inherits them, instead of paying seconds for them in every case. A module the
    image lacks is skipped (the candidate's own import then says so)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:
            with contextlib.suppress(Exception):
                __import__(name)


def main(argv: list[str]) -> int:
    with open(os.path.join(HERE, "cases.json"), encoding="utf-8") as handle:
        job = json.load(handle)
    output = os.environ.get("HELDOUT_OUTPUT", "/output")
    results = open(os.path.join(output, RESULTS), "a", encoding="utf-8")  # noqa: SIM115
    import_ahead(job.get("ahead", []))
    try:
        module = import_candidate(argv[1])
    except BaseException:
        traceback.print_exc()
        print(f"could not import {argv[1]}", file=sys.stderr)
        return EXIT_IMPORT_FAILED
    for case in job["cases"]:
        line = json.dumps(run_case(module, case, job["max_result_bytes"]), allow_nan=False)
        results.write(line + "\n")
        results.flush()
    results.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
