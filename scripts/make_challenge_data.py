"""Generate the data files of the bundled challenges, deterministically.

    python scripts/make_challenge_data.py            # rewrite challenges/*/public, hidden
    python scripts/make_challenge_data.py --check    # exit 1 if the committed files differ

The committed CSVs are what graders use; this script documents how they were made and
reproduces them byte for byte with the same NumPy version. A bundle with per-candidate
variants keeps its generator in its own ``generate.py``; the committed files are that
generator's default seed.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
CHALLENGES = ROOT / "challenges"


def _bundle_generator(slug: str) -> ModuleType:
    """A bundle's own seeded generator (its ``generate.py``), imported by path.

    The bundle keeps the generator so the platform can build per-candidate variants from
    it; this script only writes the default seed's variant into the repository.
    """
    path = CHALLENGES / slug / "generate.py"
    spec = importlib.util.spec_from_file_location(f"heldout_generate_{slug.replace('-', '_')}",
                                                  path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def churn_files() -> dict[Path, bytes]:
    generator = _bundle_generator("churn-prediction")
    bundle = CHALLENGES / "churn-prediction"
    produced: dict[str, bytes] = generator.files(generator.CHURN_SEED)
    return {bundle / relative: data for relative, data in produced.items()}


GENERATORS: dict[str, Callable[[], dict[Path, bytes]]] = {"churn-prediction": churn_files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("slugs", nargs="*", help="challenges to generate (default: all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.slugs) - set(GENERATORS))
    if unknown:
        parser.error(f"no generator for {', '.join(unknown)}; known: {', '.join(GENERATORS)}")
    stale: list[Path] = []
    for slug in args.slugs or list(GENERATORS):
        for path, data in GENERATORS[slug]().items():
            shown = path.relative_to(ROOT)
            if args.check:
                if not path.is_file() or path.read_bytes() != data:
                    stale.append(path)
                    print(f"differs: {shown}")
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            print(f"wrote {shown} ({len(data)} bytes)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
