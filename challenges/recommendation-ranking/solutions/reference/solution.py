"""Reference solution for "Recommend and measure": pandas for the log, plain Python for metrics."""

import math

import pandas as pd


def holdout_mask(interactions, n=1):
    """True for each user's last n interactions (time, then row order); short users keep all."""
    frame = interactions.reset_index(drop=True).assign(position=lambda f: f.index)
    ordered = frame.sort_values(["user_id", "timestamp", "position"])
    from_end = ordered.groupby("user_id").cumcount(ascending=False)  # 0 = the last one
    sizes = ordered.groupby("user_id")["item_id"].transform("size")
    held = (from_end < n) & (sizes > n)
    return held.sort_index().tolist()


def recommend_popular(train, users, k=10):
    """The k items most users touched, ties by id, leaving out what each user already has."""
    fans = train.groupby("item_id")["user_id"].nunique()
    ranking = sorted(fans.index, key=lambda item: (-fans[item], item))
    seen = train.groupby("user_id")["item_id"].agg(set).to_dict()
    return {user: [item for item in ranking if item not in seen.get(user, set())][:k]
            for user in users}


def _mean_over_users(recommended, relevant, score):
    values = [score(recommended.get(user, []), set(items)) for user, items in relevant.items()
              if items]
    return sum(values) / len(values) if values else 0.0


def recall_at_k(recommended, relevant, k):
    return _mean_over_users(recommended, relevant,
                            lambda recs, wanted: len(set(recs[:k]) & wanted) / len(wanted))


def ndcg_at_k(recommended, relevant, k):
    def score(recs, wanted):
        dcg = sum(1 / math.log2(rank + 1) for rank, item in enumerate(recs[:k], 1)
                  if item in wanted)
        ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(k, len(wanted)) + 1))
        return dcg / ideal
    return _mean_over_users(recommended, relevant, score)


def evaluate(interactions, k=10):
    """Leave the last interaction out, recommend by popularity, measure recall and nDCG."""
    held = pd.Series(holdout_mask(interactions, 1), index=interactions.index)
    train, test = interactions[~held], interactions[held]
    relevant = test.groupby("user_id")["item_id"].agg(list).to_dict()
    recommended = recommend_popular(train, sorted(relevant), k)
    return {"recall": recall_at_k(recommended, relevant, k),
            "ndcg": ndcg_at_k(recommended, relevant, k), "users": len(relevant)}
