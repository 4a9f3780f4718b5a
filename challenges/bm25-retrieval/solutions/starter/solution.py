"""Implement the functions below (see statement.md); mrr is done as an example.

Python with numpy and pandas; no search library. Return plain Python values.
"""

import re

TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text):
    """Lower-case runs of letters and digits: "E-mail me!" -> ["e", "mail", "me"]."""
    return TOKEN.findall(text.lower())


def bm25_scores(query, documents, k1=1.5, b=0.75):
    """BM25 score of every document for the query, in document order."""
    raise NotImplementedError


def rank(query, documents, k=10, k1=1.5, b=0.75):
    """Indices of the k best documents with a positive score, best first."""
    raise NotImplementedError


def mrr(rankings, relevant):
    """Mean over queries of 1 / the rank of the first relevant document (0 without one)."""
    total = 0.0
    for ranking, wanted in zip(rankings, relevant):
        for position, doc in enumerate(ranking, start=1):
            if doc in wanted:
                total += 1 / position
                break
    return total / len(rankings)


def ndcg_at_k(ranking, relevance, k):
    """nDCG of the top k of ``ranking`` for the graded judgments ``relevance``."""
    raise NotImplementedError


def evaluate(queries, documents, qrels, k=10):
    """{"mrr": ..., "ndcg": ...}: the means over the queries of rank()'s top k."""
    raise NotImplementedError
