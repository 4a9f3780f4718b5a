"""The web process stays lean: no scientific stack and no Docker client to serve a page."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("sklearn", "numpy", "pandas", "scipy", "docker")

# Run in a fresh interpreter: this test process has long since imported all of them.
SCRIPT = textwrap.dedent("""
    import json, sys
    from heldout.platform.app import create_app
    from heldout.platform.extensions import db

    data_dir, challenges = sys.argv[1], sys.argv[2]
    app = create_app({"HELDOUT_ENV": "testing", "HELDOUT_SECRET_KEY": "k" * 40,
                      "HELDOUT_DATA_DIR": data_dir, "HELDOUT_CHALLENGES_DIR": challenges,
                      "HELDOUT_QUEUE_URL": "memory://", "HELDOUT_BASE_URL": "http://heldout.test",
                      "WTF_CSRF_ENABLED": False})
    with app.app_context():
        db.create_all()
    response = app.test_client().get("/login")
    heavy = sorted({name.split(".")[0] for name in sys.modules} & set(json.loads(sys.argv[3])))
    print(json.dumps({"status": response.status_code, "heavy": heavy,
                      "page": response.get_data(as_text=True)[:2000]}))
""")


def test_creating_the_app_and_serving_a_page_imports_no_heavy_library(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "var"), str(REPO / "challenges"),
         json.dumps(HEAVY)],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["status"] == 200 and "<form" in report["page"]
    assert report["heavy"] == [], f"the web process imported {report['heavy']}"


# `heldout serve` and `heldout worker` as their command line runs them, in a fresh
# interpreter: everything up to the server's (or the queue consumer's) loop is the real
# code; the loop itself is replaced by a report of what the process has imported by then
# (after one request, for the web app).
COMMAND_SCRIPT = textwrap.dedent("""
    import json, os, sys
    command, data_dir, challenges = sys.argv[1], sys.argv[2], sys.argv[3]
    os.environ.update({"HELDOUT_ENV": "testing", "HELDOUT_SECRET_KEY": "k" * 40,
                       "HELDOUT_DATA_DIR": data_dir, "HELDOUT_CHALLENGES_DIR": challenges,
                       "HELDOUT_QUEUE_URL": "memory://"})

    def report(app, status=None):
        print(json.dumps({"status": status, "modules": sorted(sys.modules)}))

    def serve_one_request(app, *, host, port, threads):
        from heldout.platform.extensions import db
        with app.app_context():
            db.create_all()
        report(app, app.test_client().get("/login").status_code)

    if command == "serve":
        import heldout.platform.server as server
        server.run_gunicorn = serve_one_request
    else:
        import heldout.platform.worker as worker
        worker.run = lambda app, workers: report(app)
    from heldout.platform.cli import main
    main([command], prog_name="heldout", standalone_mode=False)
""")
# Benchmarks and deployment helpers, and the load generator only they use.
TOOLS = ("heldout.tools", "locust")


def _imported(command: str, tmp_path: Path) -> tuple[int | None, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", COMMAND_SCRIPT, command, str(tmp_path / "var"),
         str(REPO / "challenges")],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["status"], report["modules"]


def _loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_heldout_serve_imports_no_tool_and_no_heavy_library(tmp_path: Path) -> None:
    status, modules = _imported("serve", tmp_path)
    assert status == 200
    assert "gunicorn" in modules  # the real server was imported, its loop replaced
    assert _loaded(modules, TOOLS + HEAVY) == []


def test_heldout_worker_imports_no_tool(tmp_path: Path) -> None:
    _, modules = _imported("worker", tmp_path)
    assert "heldout.platform.worker" in modules
    assert _loaded(modules, TOOLS) == []
