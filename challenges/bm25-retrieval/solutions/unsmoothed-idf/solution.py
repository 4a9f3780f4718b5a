"""Flawed on purpose: the textbook IDF, log((N - n + 0.5) / (n + 0.5)), without the 1 +.

A term in more than half of the documents ("the", "your", "account") gets a negative
IDF, so matching it lowers a document's score: documents that say more about the query's
common words sink, short ones rise, and rankings and metrics move. Everything else is the
reference.
"""

import math
import re
from collections import Counter

TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text):
    return TOKEN.findall(text.lower())


def bm25_scores(query, documents, k1=1.5, b=0.75):
    """BM25 of every document for the query, in document order."""
    docs = [Counter(tokenize(d)) for d in documents]
    lengths = [sum(c.values()) for c in docs]
    n = len(docs)
    avgdl = sum(lengths) / n if n else 0.0
    if avgdl == 0:
        return [0.0] * n
    df = Counter(term for counts in docs for term in counts)
    idf = {t: math.log((n - df[t] + 0.5) / (df[t] + 0.5)) for t in df}
    terms = tokenize(query)  # a term repeated in the query counts each time
    scores = []
    for counts, length in zip(docs, lengths):
        norm = k1 * (1 - b + b * length / avgdl)
        scores.append(sum(idf[t] * counts[t] * (k1 + 1) / (counts[t] + norm)
                          for t in terms if counts[t]))
    return scores


def rank(query, documents, k=10, k1=1.5, b=0.75):
    """Indices of the k best documents with a positive score; ties go to the lower index."""
    scores = bm25_scores(query, documents, k1, b)
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return [i for i in order if scores[i] > 0][:k]


def mrr(rankings, relevant):
    """Mean over queries of 1 / the rank of the first relevant document (0 without one)."""
    total = 0.0
    for ranking, wanted in zip(rankings, relevant):
        wanted = set(wanted)
        total += next((1 / pos for pos, doc in enumerate(ranking, 1) if doc in wanted), 0.0)
    return total / len(rankings)


def dcg(grades):
    return sum(g / math.log2(pos + 1) for pos, g in enumerate(grades, 1))


def ndcg_at_k(ranking, relevance, k):
    """DCG of the top k over the DCG of the best possible top k of every judged document."""
    ideal = dcg(sorted(relevance.values(), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([relevance.get(doc, 0) for doc in ranking[:k]]) / ideal


def evaluate(queries, documents, qrels, k=10):
    """Mean MRR and nDCG@k of rank() over the queries; documents are d0, d1, ..."""
    rankings = [[f"d{i}" for i in rank(q, documents, k)] for q in queries]
    relevant = [[doc for doc, grade in judged.items() if grade >= 1] for judged in qrels]
    ndcgs = [ndcg_at_k(r, judged, k) for r, judged in zip(rankings, qrels)]
    return {"mrr": mrr(rankings, relevant), "ndcg": sum(ndcgs) / len(ndcgs)}
