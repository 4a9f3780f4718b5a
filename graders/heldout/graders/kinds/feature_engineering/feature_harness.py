"""Run a candidate's feature transform in the sandbox and write the two feature tables.

Started as ``python /harness/feature_harness.py /harness/config.json``. The candidate's
code runs in this very process, so nothing here may hold an answer: the test table holds
features only (rows shuffled and ids replaced by the host for this run), and the training
labels are public. Whatever this writes is checked again on the host; the checks here
only turn common mistakes into a readable error.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

ROW_COLUMN = "__row__"


def _fail(message: str) -> None:
    raise SystemExit(f"feature harness: {message}")


def _load(workspace: Path, entrypoint: str) -> Any:
    path = workspace / entrypoint
    sys.path.insert(0, str(path.parent))  # sibling modules of the entrypoint import normally
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        _fail(f"cannot import {entrypoint}")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def _as_frame(result: Any, what: str, rows: int) -> pd.DataFrame:
    if not isinstance(result, pd.DataFrame):
        try:
            result = pd.DataFrame(result)
        except (ValueError, TypeError):
            _fail(f"transform returned {type(result).__name__} for the {what} rows; "
                  "it must return a pandas DataFrame")
    if len(result) != rows:
        _fail(f"transform returned {len(result)} rows for the {what} table of {rows} rows; "
              "keep every row, in order")
    result = result.copy()
    result.columns = [str(name) for name in result.columns]
    for name in result.columns[result.dtypes.map(pd.api.types.is_bool_dtype).to_numpy()]:
        result[name] = result[name].astype(int)  # flags are numbers to a model
    return result


def _transformer(module: Any, name: str) -> Any:
    try:
        found = getattr(module, name)
    except AttributeError:
        _fail(f"the entrypoint defines no {name!r}")
    return found() if isinstance(found, type) else found


def main(argv: list[str]) -> int:
    config = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    train = pd.read_csv(config["train"])
    test = pd.read_csv(config["test"])
    labels = train.pop(config["label_column"])
    transformer = _transformer(_load(Path(config["workspace"]), config["entrypoint"]),
                               config["transform"])
    if hasattr(transformer, "fit") and hasattr(transformer, "transform"):
        transformer.fit(train.copy(), labels.copy())
        train_out = transformer.transform(train.copy())
        test_out = transformer.transform(test.copy())
    elif callable(transformer):
        train_out = transformer(train.copy())
        test_out = transformer(test.copy())
    else:
        _fail(f"{config['transform']!r} is neither a function nor a class with fit/transform")
    output = Path(config["output"])
    for what, frame, rows, name in (("training", train_out, len(train), config["train_features"]),
                                    ("test", test_out, len(test), config["test_features"])):
        _as_frame(frame, what, rows).to_csv(output / name, index=True, index_label=ROW_COLUMN)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
