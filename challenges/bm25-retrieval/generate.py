"""Seeded generator of bm25-retrieval's test cases: a help-centre corpus, queries, judgments.

Run on the grading host or by hand, never in the sandbox:

    python generate.py --seed N --public DIR --hidden DIR

The default seed reproduces the committed public/ and hidden/ files byte for byte. Each
side gets its own corpus (``corpus.json``: a list of article texts) drawn from the same
topics, and cases that reference it. Expected values come from the rules of the statement
written out here in plain Python, independently of the reference solution.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

SEED = 20250324
TOKEN = re.compile(r"[a-z0-9]+")
TOLERANCE = {"abs": 1e-9, "rel": 1e-9}

# Help-centre topics, each with subtopics; an article is about one subtopic.
TOPICS: dict[str, dict[str, list[str]]] = {
    "billing": {
        "invoice": ["invoice", "invoices", "pdf", "vat", "billing", "address", "download",
                    "company", "receipt", "number"],
        "refund": ["refund", "refunds", "charged", "twice", "money", "back", "days", "bank",
                   "card", "statement"],
        "payment": ["payment", "card", "declined", "expired", "update", "method", "paypal",
                    "billing", "failed", "retry"],
    },
    "account": {
        "password": ["password", "reset", "forgot", "link", "email", "expired", "login",
                     "sign", "new", "secure"],
        "two-factor": ["two", "factor", "authentication", "code", "sms", "authenticator",
                       "app", "backup", "codes", "phone"],
        "delete": ["delete", "close", "account", "data", "permanently", "remove", "export",
                   "request", "gdpr", "erase"],
    },
    "shipping": {
        "tracking": ["tracking", "number", "parcel", "courier", "status", "where", "order",
                     "shipped", "late", "delivery"],
        "returns": ["return", "returns", "label", "parcel", "prepaid", "drop", "point",
                    "exchange", "size", "days"],
        "international": ["international", "customs", "duties", "import", "country",
                          "shipping", "fees", "tax", "border", "delivery"],
    },
    "app": {
        "crash": ["crash", "crashes", "app", "freeze", "update", "version", "reinstall",
                  "android", "ios", "log"],
        "notifications": ["notifications", "push", "alerts", "settings", "mute", "email",
                          "phone", "turn", "off", "digest"],
        "sync": ["sync", "devices", "offline", "data", "laptop", "phone", "conflict",
                 "changes", "cloud", "backup"],
    },
}
COMMON = ["the", "your", "to", "you", "a", "how", "can", "and", "in", "of", "account",
          "help", "if", "we", "it", "is", "for", "my", "on", "with"]


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


# --- the rules of the statement ------------------------------------------------------

def bm25_scores(query: str, documents: list[str], k1: float = 1.5,
                b: float = 0.75) -> list[float]:
    docs = [tokenize(d) for d in documents]
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n if n else 0.0
    if avgdl == 0:
        return [0.0] * n
    df: dict[str, int] = {}
    for doc in docs:
        for term in set(doc):
            df[term] = df.get(term, 0) + 1
    scores = []
    for doc in docs:
        counts: dict[str, int] = {}
        for term in doc:
            counts[term] = counts.get(term, 0) + 1
        total = 0.0
        for term in tokenize(query):  # a repeated query term counts each time
            f = counts.get(term, 0)
            if f == 0:
                continue
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            total += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * len(doc) / avgdl))
        scores.append(total)
    return scores


def rank(query: str, documents: list[str], k: int = 10, k1: float = 1.5,
         b: float = 0.75) -> list[int]:
    scores = bm25_scores(query, documents, k1, b)
    order = sorted(range(len(documents)), key=lambda i: (-scores[i], i))
    return [i for i in order if scores[i] > 0][:k]


def mrr(rankings: list[list[str]], relevant: list[list[str]]) -> float:
    total = 0.0
    for ranking, wanted in zip(rankings, relevant, strict=True):
        for position, doc in enumerate(ranking, start=1):
            if doc in wanted:
                total += 1 / position
                break
    return total / len(rankings)


def ndcg_at_k(ranking: list[str], relevance: dict[str, int], k: int) -> float:
    dcg = sum(relevance.get(doc, 0) / math.log2(position + 1)
              for position, doc in enumerate(ranking[:k], start=1))
    ideal = sorted(relevance.values(), reverse=True)[:k]
    idcg = sum(grade / math.log2(position + 1) for position, grade in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


def evaluate(queries: list[str], documents: list[str], qrels: list[dict[str, int]],
             k: int = 10) -> dict[str, float]:
    ids = [f"d{i}" for i in range(len(documents))]
    rankings = [[ids[i] for i in rank(q, documents, k)] for q in queries]
    relevant = [[doc for doc, grade in judged.items() if grade >= 1] for judged in qrels]
    ndcg = [ndcg_at_k(r, judged, k) for r, judged in zip(rankings, qrels, strict=True)]
    return {"mrr": mrr(rankings, relevant), "ndcg": sum(ndcg) / len(ndcg)}


# --- the corpus ----------------------------------------------------------------------

Subtopic = tuple[str, str]


def _words(rng: np.random.Generator, vocabulary: list[str], count: int) -> list[str]:
    weights = 1.0 / np.arange(1, len(vocabulary) + 1)  # a few words dominate each subtopic
    picks = rng.choice(len(vocabulary), size=count, p=weights / weights.sum())
    return [vocabulary[i] for i in picks]


def article(rng: np.random.Generator, topic: str, sub: str) -> str:
    own = list(TOPICS[topic][sub])
    rng.shuffle(own)
    sibling = [s for s in TOPICS[topic] if s != sub][int(rng.integers(0, 2))]
    words = (_words(rng, own, int(rng.integers(8, 30)))
             + _words(rng, TOPICS[topic][sibling], int(rng.integers(1, 6)))
             + _words(rng, COMMON, int(rng.integers(6, 30))))
    rng.shuffle(words)
    sentences, start = [], 0
    while start < len(words):
        end = start + int(rng.integers(5, 12))
        sentence = " ".join(words[start:end])
        sentences.append(sentence[0].upper() + sentence[1:] + rng.choice([".", ".", "?", "!"]))
        start = end
    title = f"{sub.replace('-', ' ').title()}: {topic}"
    return title + "\n" + " ".join(sentences)


def corpus(rng: np.random.Generator, size: int) -> tuple[list[str], list[Subtopic]]:
    subtopics = [(t, s) for t, subs in TOPICS.items() for s in subs]
    about = [subtopics[i % len(subtopics)] for i in range(size)]
    order = rng.permutation(size)
    about = [about[i] for i in order]
    return [article(rng, t, s) for t, s in about], about


def judgments(about: list[Subtopic], topic: str, sub: str) -> dict[str, int]:
    """Grade 2 for articles of the subtopic, 1 for its topic's other articles."""
    return {f"d{i}": 2 if (t, s) == (topic, sub) else 1
            for i, (t, s) in enumerate(about) if t == topic}


def query(rng: np.random.Generator, topic: str, sub: str, words: int) -> str:
    picked = _words(rng, TOPICS[topic][sub], words) + _words(rng, COMMON, 2)
    rng.shuffle(picked)
    return " ".join(picked)


# --- the cases -----------------------------------------------------------------------

CORPUS = {"$file": "corpus.json"}
Case = dict[str, Any]


def case(function: str, args: list[Any], expected: Any, group: str, name: str,
         kwargs: dict[str, Any] | None = None, tolerance: bool = True,
         weight: float | None = None) -> Case:
    out: Case = {"function": function, "args": args}
    if kwargs:
        out["kwargs"] = kwargs
    out["expected"] = expected
    if tolerance:
        out["tolerance"] = TOLERANCE
    out["group"] = group
    if weight is not None:
        out["weight"] = weight
    out["name"] = name
    return out


def cases(rng: np.random.Generator, docs: list[str], about: list[Subtopic],
          hidden: bool) -> list[Case]:
    subtopics = sorted(set(about))
    out: list[Case] = []

    def score_case(q: str, name: str, documents: Any = CORPUS, values: list[str] | None = None,
                   **kwargs: float) -> Case:
        expected = bm25_scores(q, values if values is not None else docs, **kwargs)
        return case("bm25_scores", [q, documents], expected, "bm25 scores", name,
                    kwargs or None)

    def rank_case(q: str, name: str, documents: Any = CORPUS, values: list[str] | None = None,
                  **kwargs: Any) -> Case:
        expected = rank(q, values if values is not None else docs, **kwargs)
        return case("rank", [q, documents], expected, "ranking", name, kwargs or None,
                    tolerance=False)

    if not hidden:
        t, s = subtopics[0]
        q = query(rng, t, s, 3)
        judged = judgments(about, t, s)
        ranking = [f"d{i}" for i in rank(q, docs)]
        return [
            score_case(q, "a query on the public corpus"),
            rank_case(q, "top 10 of the public corpus"),
            case("mrr", [[ranking], [[d for d, g in judged.items() if g >= 1]]],
                 mrr([ranking], [[d for d, g in judged.items() if g >= 1]]), "mrr",
                 "one query"),
            case("ndcg_at_k", [ranking, judged, 10], ndcg_at_k(ranking, judged, 10), "ndcg",
                 "one query at 10"),
            case("evaluate", [[q], CORPUS, [judged]], evaluate([q], docs, [judged]),
                 "evaluation", "one query"),
        ]

    # BM25 scores: the corpus, then small collections that pin each part of the formula.
    for i in range(4):
        t, s = subtopics[int(rng.integers(0, len(subtopics)))]
        out.append(score_case(query(rng, t, s, 3 + i), f"corpus query {i + 1}"))
    t, s = subtopics[1]
    out.append(score_case(query(rng, t, s, 3), "k1 = 1.2, b = 0.5", k1=1.2, b=0.5))
    tiny = ["the cat sat on the mat", "the dog", "cats and dogs and the cat", ""]
    out.append(score_case("the cat", "an empty document and a term in most documents",
                          documents=tiny, values=tiny))
    repeated = ["refund refund card", "card declined", "refund of a card payment",
                "the card was declined twice"]
    out.append(score_case("refund refund card", "a query term repeated",
                          documents=repeated, values=repeated))
    out.append(score_case("Password RESET, e-mail!", "case and punctuation",
                          documents=docs[:12], values=docs[:12]))

    # Rankings: top k, ties by position, nothing with a zero score.
    for i in range(3):
        t, s = subtopics[int(rng.integers(0, len(subtopics)))]
        out.append(rank_case(query(rng, t, s, 3 + i), f"corpus top 10, query {i + 1}"))
    t, s = subtopics[2]
    out.append(rank_case(query(rng, t, s, 4), "top 3", k=3))
    twins = ["refund for a late parcel", "where is my parcel", "refund for a late parcel",
             "parcel refund", "refund for a late parcel", "nothing about it"]
    out.append(rank_case("late parcel refund", "identical documents tie: lower index first",
                         documents=twins, values=twins))
    out.append(rank_case("customs", "fewer matches than k", documents=docs[:20],
                         values=docs[:20]))
    out.append(rank_case("zebra", "no document matches", documents=docs[:20], values=docs[:20]))
    t, s = subtopics[3]
    out.append(rank_case(query(rng, t, s, 5), "top 5, k1 = 2.0", k=5, k1=2.0))

    # MRR and nDCG on hand-made rankings: first hits, misses, judged-but-unretrieved documents.
    rankings = [["d3", "d1", "d7"], ["d2", "d9"], ["d4", "d5", "d6"], ["d8"]]
    relevant = [["d1", "d7"], ["d2"], ["d0"], ["d8", "d4"]]
    out.append(case("mrr", [rankings, relevant], mrr(rankings, relevant), "mrr",
                    "four queries, one without a hit"))
    out.append(case("mrr", [[["d1", "d2", "d3"]], [[]]], 0.0, "mrr", "nothing relevant"))
    out.append(case("mrr", [[["d5", "d6", "d7", "d8", "d9", "d1"]], [["d1"]]],
                    mrr([["d5", "d6", "d7", "d8", "d9", "d1"]], [["d1"]]), "mrr",
                    "a hit at rank 6"))
    out.append(case("mrr", [[["d2", "d1"], ["d1", "d2"]], [["d1", "d2"], ["d2"]]],
                    mrr([["d2", "d1"], ["d1", "d2"]], [["d1", "d2"], ["d2"]]), "mrr",
                    "only the first hit counts"))
    ndcg_inputs = [
        (["d1", "d2", "d3"], {"d1": 2, "d2": 1, "d3": 0}, 3, "ideal order"),
        (["d3", "d2", "d1"], {"d1": 2, "d2": 1, "d3": 0}, 3, "reversed"),
        (["d4", "d5"], {"d1": 2, "d2": 1}, 5, "no relevant document retrieved"),
        (["d1", "d9", "d8"], {"d1": 1, "d2": 2, "d3": 2}, 3,
         "relevant documents missing from the ranking"),
        (["d2", "d9", "d1", "d3"], {"d1": 1, "d2": 2, "d3": 2, "d4": 1}, 2, "cut at 2"),
        (["d1", "d2"], {}, 10, "nothing judged relevant"),
        (["d7", "d1", "d2", "d3", "d4", "d5"], {"d1": 2, "d2": 2, "d3": 2, "d6": 2, "d7": 1}, 4,
         "a judged document beyond the cut"),
    ]
    for ranking, judged, k, name in ndcg_inputs:
        out.append(case("ndcg_at_k", [ranking, judged, k], ndcg_at_k(ranking, judged, k),
                        "ndcg", name))

    # End to end: queries on the corpus, their judgments, mean MRR and nDCG@k.
    for count, k in [(6, 10), (8, 10), (8, 5), (10, 3)]:
        picked = [subtopics[int(rng.integers(0, len(subtopics)))] for _ in range(count)]
        queries = [query(rng, t, s, int(rng.integers(2, 5))) for t, s in picked]
        qrels = [judgments(about, t, s) for t, s in picked]
        out.append(case("evaluate", [queries, CORPUS, qrels], evaluate(queries, docs, qrels, k),
                        "evaluation", f"{count} queries at {k}",
                        kwargs={"k": k} if k != 10 else None, weight=3))
    return out


def cases_bytes(items: list[Case]) -> bytes:
    return "".join(json.dumps(c, allow_nan=False) + "\n" for c in items).encode("utf-8")


def files(seed: int) -> dict[str, bytes]:
    """The generated files by path relative to the bundle (``public/...``, ``hidden/...``)."""
    rng = np.random.default_rng(seed)
    out: dict[str, bytes] = {}
    for area, size in (("hidden", 90), ("public", 36)):
        docs, about = corpus(rng, size)
        out[f"{area}/corpus.json"] = (json.dumps(docs, indent=1) + "\n").encode("utf-8")
        out[f"{area}/cases.jsonl"] = cases_bytes(cases(rng, docs, about, area == "hidden"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--public", type=Path, required=True)
    parser.add_argument("--hidden", type=Path, required=True)
    args = parser.parse_args(argv)
    targets = {"public": args.public, "hidden": args.hidden}
    for relative, data in files(args.seed).items():
        area, name = relative.split("/", 1)
        path = targets[area] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
