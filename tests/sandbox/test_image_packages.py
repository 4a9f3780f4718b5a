"""The runtime image's ML stack: each library candidates reach for imports and fits in a real run."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from heldout.sandbox import JobSpec, Limits, RunResult, run
from heldout.sandbox.image import IMAGE_DIR
from heldout.sandbox.pool import DEFAULT_PRELOAD, WarmPool

pytestmark = pytest.mark.docker

# Fits each library on data that ships with the image (nothing downloaded) and reports
# what came out; the test judges the numbers on the host.
PROGRAM = textwrap.dedent("""
    import sys

    preloaded = sorted(name for name in sys.modules if name in __PRELOAD__)

    import json
    from importlib import metadata

    import lightgbm
    import numpy as np
    import scipy.optimize
    import statsmodels.api as sm
    import statsmodels.formula.api as smf
    import xgboost
    from sklearn.datasets import load_breast_cancer
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)

    lgb = lightgbm.LGBMClassifier(n_estimators=60, num_leaves=15, random_state=0, verbose=-1)
    lgb.fit(X_train, y_train)
    xgb = xgboost.XGBClassifier(n_estimators=60, max_depth=3, random_state=0, tree_method="hist")
    xgb.fit(X_train, y_train)

    longley = sm.datasets.longley.load_pandas()
    ols = sm.OLS(longley.endog, sm.add_constant(longley.exog)).fit()
    formula = smf.ols("TOTEMP ~ GNPDEFL + GNP + UNEMP + ARMED + POP + YEAR", data=longley.data).fit()

    rosen = scipy.optimize.minimize(scipy.optimize.rosen, np.zeros(3), method="BFGS")

    print(json.dumps({
        "versions": {name: metadata.version(name) for name in
                     ("lightgbm", "xgboost-cpu", "statsmodels", "patsy", "scipy", "numpy",
                      "pandas", "scikit-learn")},
        "has_full_xgboost": any(d.metadata["Name"] == "xgboost" for d in metadata.distributions()),
        "lightgbm_auc": roc_auc_score(y_test, lgb.predict_proba(X_test)[:, 1]),
        "xgboost_auc": roc_auc_score(y_test, xgb.predict_proba(X_test)[:, 1]),
        "ols_params": ols.params.to_dict(),
        "formula_params": formula.params.to_dict(),
        "rosen_x": rosen.x.tolist(),
        "preloaded": preloaded,
    }))
""").replace("__PRELOAD__", repr(sorted(DEFAULT_PRELOAD)))

# NIST StRD certified values for the Longley regression: a check that doesn't trust the
# library being checked.
LONGLEY_CERTIFIED = {
    "const": -3482258.63459582,
    "GNPDEFL": 15.0618722713733,
    "GNP": -0.358191792925910e-01,
    "UNEMP": -2.02022980381683,
    "ARMED": -1.03322686717359,
    "POP": -0.511041056535807e-01,
    "YEAR": 1829.15146461355,
}


def pinned_versions() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (IMAGE_DIR / "requirements.txt").read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def run_program(tmp_path: Path, pool: WarmPool | None) -> RunResult:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "main.py").write_text(PROGRAM)
    spec = JobSpec(command=("python", "main.py"), workspace=workspace, limits=Limits())
    if pool is None:
        return run(spec, tmp_path / "out")
    pool.prime(spec.limits)
    assert pool.wait_warm(1, timeout=120, limits=spec.limits), "no warm container became ready"
    result = run(spec, tmp_path / "out", pool=pool)
    assert result.warm, "the job did not run in the warm container"
    return result


@pytest.fixture(scope="module")
def warm_pool(docker_client: Any, sandbox_image: str) -> Any:
    pool = WarmPool(docker_client, size=1)
    yield pool
    pool.close()


@pytest.mark.parametrize("start", ["cold", "warm"])
def test_ml_stack_fits_under_default_limits(tmp_path: Path, start: str, sandbox_image: str,
                                            request: pytest.FixtureRequest) -> None:
    pool: WarmPool | None = request.getfixturevalue("warm_pool") if start == "warm" else None
    result = run_program(tmp_path, pool)
    assert result.exit_code == 0 and result.limit is None, result.stderr_tail
    report = json.loads(result.stdout_tail.strip().splitlines()[-1])

    pins = pinned_versions()
    for name, version in report["versions"].items():
        assert version == pins[name], f"{name} {version} in the image, {pins[name]} pinned"
    assert report["has_full_xgboost"] is False, "the GPU build of xgboost came in"

    assert report["lightgbm_auc"] > 0.97
    assert report["xgboost_auc"] > 0.97
    for params in (report["ols_params"], report["formula_params"]):
        renamed = {("const" if k == "Intercept" else k): v for k, v in params.items()}
        assert renamed.keys() == LONGLEY_CERTIFIED.keys()
        for name, certified in LONGLEY_CERTIFIED.items():
            assert renamed[name] == pytest.approx(certified, rel=1e-6), name
    assert report["rosen_x"] == pytest.approx([1.0, 1.0, 1.0], abs=1e-4)
    assert result.peak_memory_mb < Limits().memory_mb
    # The launcher swallows import errors, so only this shows the warm preload worked.
    assert report["preloaded"] == (sorted(DEFAULT_PRELOAD) if start == "warm" else [])


# The packages Kinds II rely on, used the way their kinds use them: duckdb answers a window
# query, nbclient runs a notebook on a fresh ipykernel, the servers start.
KINDS_II_PROGRAM = textwrap.dedent("""
    import json
    import subprocess
    from importlib import metadata

    import duckdb
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    con = duckdb.connect()
    rows = con.execute(
        "SELECT g, SUM(x) OVER (PARTITION BY g ORDER BY x) AS running "
        "FROM (VALUES ('a', 1), ('a', 2), ('b', 5)) t(g, x) ORDER BY g, x"
    ).fetchall()

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("total = sum(range(10))"),
        nbformat.v4.new_code_cell("print(total * 2)"),
    ])
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    printed = "".join(o.get("text", "") for o in nb.cells[1].outputs)

    script = jupytext.writes(nb, fmt="py:percent")

    servers = {name: subprocess.run([name, "--version"], capture_output=True, text=True)
               for name in ("gunicorn", "uvicorn")}

    print(json.dumps({
        "versions": {name: metadata.version(name) for name in
                     ("duckdb", "nbclient", "ipykernel", "jupytext", "nbformat", "gunicorn",
                      "uvicorn")},
        "duckdb_rows": rows,
        "notebook_printed": printed,
        "percent_cells": script.count("# %%"),
        "servers": {name: [p.returncode, p.stdout + p.stderr] for name, p in servers.items()},
    }))
""")

# The root filesystem is read-only and HOME would otherwise be a missing directory: the
# kernel writes its connection file under JUPYTER_RUNTIME_DIR and IPython its profile under
# HOME, so any job that starts a kernel (the notebook kind's harness) needs both in /tmp.
KERNEL_ENV = {"HOME": "/tmp", "JUPYTER_RUNTIME_DIR": "/tmp/jupyter-runtime"}


def test_kinds_ii_packages_work_in_the_sandbox(tmp_path: Path, sandbox_image: str) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "main.py").write_text(KINDS_II_PROGRAM)
    spec = JobSpec(command=("python", "main.py"), workspace=workspace, limits=Limits(),
                   env=KERNEL_ENV)
    result = run(spec, tmp_path / "out")
    assert result.exit_code == 0 and result.limit is None, result.stderr_tail
    report = json.loads(result.stdout_tail.strip().splitlines()[-1])

    pins = pinned_versions()
    for name, version in report["versions"].items():
        assert version == pins[name], f"{name} {version} in the image, {pins[name]} pinned"
    assert report["duckdb_rows"] == [["a", 1], ["a", 3], ["b", 5]]
    assert report["notebook_printed"].strip() == "90"
    assert report["percent_cells"] == 2
    for name, (code, text) in report["servers"].items():
        assert code == 0, f"{name} --version failed: {text}"
        assert pins[name] in text, f"{name} printed {text!r}"
