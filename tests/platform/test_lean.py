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
