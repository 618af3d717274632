"""The ranking protocol of `recsys evaluate --ranking`, run on the peers.

On the train rows (all ratings but the test pairs of ranking_data.py) and the
same test pairs: each test customer with at least one test rating >= 4 gets
the 10 best-scored movies they did not rate in training; precision@10,
NDCG@10 (binary gains, log2(position + 1)), MAP@10, hit rate and catalog
coverage, averaged per customer — the formulas of Sources/Models/Ranking.swift.

Peers: most popular (train count), benfred/implicit's ALS (64 factors),
BPR (64 factors) and item-item cosine kNN (K 50), and EASE (Steck 2019,
lambda 500) in numpy. Prints one JSON object per model on stdout.

    python experiments/ranking_peers.py DATA_DIR
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

data = sys.argv[1]
ratings = pd.read_csv(os.path.join(data, "ratings.csv"))
test_pairs = pd.read_csv(os.path.join(data, "test_pairs.csv")).rename(columns={"customer_id": "userId", "movie_id": "movieId"})
users = np.sort(ratings.userId.unique())
movies = np.sort(pd.read_csv(os.path.join(data, "movies.csv")).movieId.unique())
u_index = {u: i for i, u in enumerate(users)}
m_index = {m: i for i, m in enumerate(movies)}
ratings["u"] = ratings.userId.map(u_index)
ratings["m"] = ratings.movieId.map(m_index)
key = ratings.userId.astype(np.int64) * 10_000_000 + ratings.movieId
test_key = set((test_pairs.userId.astype(np.int64) * 10_000_000 + test_pairs.movieId).tolist())
is_test = key.isin(test_key).to_numpy()
train, test = ratings[~is_test], ratings[is_test]
n_users, n_movies = len(users), len(movies)
X = sp.csr_matrix((train.rating.to_numpy(np.float32), (train.u, train.m)), shape=(n_users, n_movies))
seen = X.copy(); seen.data[:] = 1
relevant = test[test.rating >= 4].groupby("u").m.apply(set)
customers = relevant.index.to_numpy()


def evaluate(name, scores_of, seconds, k=10):
    precision = ndcg = ap = hit = 0.0
    shown = set()
    for start in range(0, len(customers), 256):
        block = customers[start:start + 256]
        scores = np.asarray(scores_of(block), dtype=np.float64)
        rated = seen[block].toarray() > 0
        scores[rated] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        for row, u in enumerate(block):
            wanted = relevant[u]
            hits, dcg, precisions = 0, 0.0, 0.0
            for position, m in enumerate(top[row]):
                if not np.isfinite(scores[row, m]):
                    break
                shown.add(int(m))
                if m in wanted:
                    hits += 1
                    dcg += 1 / np.log2(position + 2)
                    precisions += hits / (position + 1)
            ideal = sum(1 / np.log2(i + 2) for i in range(min(k, len(wanted))))
            precision += hits / k
            ndcg += dcg / ideal
            ap += precisions / min(k, len(wanted))
            hit += hits > 0
    n = len(customers)
    print(json.dumps({"name": name, "customers": n, "precision": precision / n, "ndcg": ndcg / n, "map": ap / n,
                      "hit_rate": hit / n, "coverage": len(shown) / n_movies, "fit_seconds": seconds}), flush=True)


counts = np.asarray(seen.sum(axis=0)).ravel()
evaluate("popularity", lambda block: np.tile(counts, (len(block), 1)), 0.0)

# EASE: B = I - P diag(1/diag(P)), P = (X^T X + lambda I)^-1, on who rated what.
started = time.time()
binary = seen.astype(np.float64)
G = (binary.T @ binary).toarray()
G[np.diag_indices(n_movies)] += 500.0
P = np.linalg.inv(G)
B = -P / np.diag(P)
B[np.diag_indices(n_movies)] = 0
ease_seconds = time.time() - started
evaluate("ease_numpy", lambda block: binary[block] @ B, ease_seconds)

import implicit  # noqa: E402  (after the numpy part: it sets its own thread pool)
from implicit.als import AlternatingLeastSquares  # noqa: E402
from implicit.bpr import BayesianPersonalizedRanking  # noqa: E402
from implicit.nearest_neighbours import CosineRecommender  # noqa: E402

for name, model in [("implicit_als", AlternatingLeastSquares(factors=64, random_state=42)),
                    ("implicit_bpr", BayesianPersonalizedRanking(factors=64, random_state=42)),
                    ("implicit_item_knn", CosineRecommender(K=50))]:
    started = time.time()
    model.fit(X, show_progress=False)
    seconds = time.time() - started
    if name == "implicit_item_knn":
        W = model.similarity.tocsr()
        evaluate(name, lambda block: (X[block] @ W).toarray(), seconds)
    else:
        uf, itf = np.asarray(model.user_factors), np.asarray(model.item_factors)
        evaluate(name, lambda block: uf[block] @ itf.T, seconds)
