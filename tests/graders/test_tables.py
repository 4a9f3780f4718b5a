"""A bundle's own hidden labels that don't parse are the bundle's fault, never the candidate's."""

from __future__ import annotations

from pathlib import Path

import pytest

from heldout.graders.errors import CandidateOutputError, GraderError
from heldout.graders.tables import read_labels


@pytest.mark.parametrize(("text", "message"), [
    ("", "labels.csv is empty"),
    ("id,z\na1,1\n", "it needs the column 'y'"),
    ("id,y,y\na1,1,1\n", "column 'y' appears more than once"),
    ("id,y\na1,1,3\n", "labels.csv line 2: 3 fields"),
    ('id,y\n"a1,1\n', "not valid CSV"),
    (b"id,y\n\xff,1\n", "not UTF-8"),
])
def test_broken_labels_are_grader_errors(tmp_path: Path, text: str | bytes, message: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    with pytest.raises(GraderError) as info:
        read_labels(path, id_column="id", label_column="y")
    assert message in str(info.value)
    assert str(info.value).startswith("hidden labels unusable: ")
    chain = [info.value, info.value.__cause__, info.value.__context__]
    assert not any(isinstance(exc, CandidateOutputError) for exc in chain)
