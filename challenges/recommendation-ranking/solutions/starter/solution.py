"""Implement the functions below (see statement.md); recall_at_k is done as an example.

Python with pandas and numpy. Interaction logs arrive as pandas DataFrames with the
columns user_id, item_id, timestamp.
"""

import pandas as pd


def recall_at_k(recommended, relevant, k):
    """Mean over users with relevant items of |top k ∩ relevant| / |relevant|."""
    values = []
    for user, items in relevant.items():
        wanted = set(items)
        if wanted:
            top = recommended.get(user, [])[:k]
            values.append(len(set(top) & wanted) / len(wanted))
    return sum(values) / len(values) if values else 0.0


def ndcg_at_k(recommended, relevant, k):
    """Mean over users with relevant items of their binary nDCG@k."""
    raise NotImplementedError


def holdout_mask(interactions: pd.DataFrame, n=1):
    """A list of booleans, one per row: True for the rows held out for testing."""
    raise NotImplementedError


def recommend_popular(train: pd.DataFrame, users, k=10):
    """{user: the k most popular items the user has not interacted with}."""
    raise NotImplementedError


def evaluate(interactions: pd.DataFrame, k=10):
    """{"recall": ..., "ndcg": ..., "users": ...} of popularity, last interaction held out."""
    raise NotImplementedError
