"""``heldout bench similarity``: N submissions of one challenge, every pair compared.

The submissions are the challenge's solution cases, each disguised by one of the edits of
``disguise`` (renamed, reordered, stripped, reformatted, constants changed, all of them)
with its own salt, so names and constants differ from one to the next. The bench times the
detector's three steps as the worker runs them (fingerprinting every submission, the one
sparse product of shared fingerprints, scoring every pair) beside a baseline from the same
run: the plain tokenisation of the same code by pygments, which no detector on these
tokens can beat.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from pygments.lexers import PythonLexer, SqlLexer

from heldout.graders.bundle import Bundle
from heldout.graders.similarity import (
    THRESHOLD,
    ChallengeDetector,
    code_units,
    compare_all,
    own_files,
    submission_files,
)
from heldout.tools.bench.disguise import DISGUISES, disguise_files

Say = Callable[[str], None]
DEFAULT_SLUG = "metrics-from-scratch"


def make_submissions(bundle: Bundle, count: int) -> list[dict[str, bytes]]:
    """``count`` submissions: the bundle's solution cases (not its starter), disguised."""
    cases = [submission_files(bundle, case.path) for case in bundle.solutions
             if case.name != "starter"]
    if not cases:
        raise ValueError(f"{bundle.slug} has no solution case besides its starter")
    return [disguise_files(cases[i % len(cases)], DISGUISES[(i // len(cases)) % len(DISGUISES)],
                           salt=i) for i in range(count)]


def _tokenise(files: dict[str, bytes]) -> int:
    count = 0
    for unit in code_units(files):
        lexer = SqlLexer() if unit.language == "sql" else PythonLexer()
        count += sum(1 for _ in lexer.get_tokens_unprocessed(unit.text))
    return count


def run_similarity(bundle: Bundle, count: int, say: Say) -> dict[str, Any]:
    say(f"making {count} submissions of {bundle.slug}")
    submissions = make_submissions(bundle, count)
    detector = ChallengeDetector.for_bundle(bundle)

    started = time.perf_counter()
    tokens = sum(_tokenise(own_files(files, detector.own)) for files in submissions)
    tokenise_s = time.perf_counter() - started

    say("fingerprinting")
    started = time.perf_counter()
    prints = [detector.fingerprint(files) for files in submissions]
    fingerprint_s = time.perf_counter() - started

    say(f"comparing {count * (count - 1) // 2} pairs")
    started = time.perf_counter()
    pairs = compare_all(prints)
    compare_s = time.perf_counter() - started

    total_s = fingerprint_s + compare_s
    return {
        "challenge": bundle.slug,
        "submissions": count,
        "pairs": len(pairs),
        "flagged": sum(pair.flagged for pair in pairs),
        "threshold": THRESHOLD,
        "tokens": tokens,
        "fingerprints_median": statistics.median(len(p.hashes) for p in prints) if prints else 0,
        "baseline_tokenise_seconds": round(tokenise_s, 3),
        "fingerprint_seconds": round(fingerprint_s, 3),
        "compare_seconds": round(compare_s, 3),
        "total_seconds": round(total_s, 3),
        "ratio_to_baseline": round(total_s / tokenise_s, 2) if tokenise_s else None,
    }


def render(result: dict[str, Any]) -> str:
    return "\n".join([
        f"{result['submissions']} submissions of {result['challenge']}: "
        f"{result['pairs']} pairs, {result['flagged']} flagged at {result['threshold']}",
        f"  baseline (pygments tokenisation alone): {result['baseline_tokenise_seconds']:.2f} s "
        f"for {result['tokens']} tokens",
        f"  fingerprints:  {result['fingerprint_seconds']:.2f} s "
        f"(median {result['fingerprints_median']} per submission)",
        f"  every pair:    {result['compare_seconds']:.2f} s",
        f"  total:         {result['total_seconds']:.2f} s "
        f"({result['ratio_to_baseline']} times the baseline)",
    ])
