#!/usr/bin/env python3
"""The NetworkX side of the graph benchmark (experiments/graph-bench, issue 5).

Does what `graph-bench compare` just did, the way a Python user would, and
times each step:
  build        co-rating counts C = AᵀA with scipy.sparse from the same ratings
               (read from recsys's own ratings cache file, not timed), the same
               min-common / weight / top-k pruning, then an nx.Graph of it;
  louvain      nx.community.louvain_communities(G, weight="weight", seed=seed);
  pagerank     nx.pagerank(G, weight="weight")  (NetworkX's scipy implementation);
  betweenness  nx.betweenness_centrality(G, k=pivots, seed=seed)  (hops, as recsys's default).
NetworkX has no Leiden of its own (3.6 dispatches leiden_communities to a backend).

It then checks that the graph it built is exactly the edge list recsys wrote
(same node pairs, weights equal to 1e-12), so both sides analysed the same
network, and prints one JSON document on stdout. Progress goes to stderr.

    python3 experiments/graph_networkx.py --cache RATINGS.bin --edges movie-edges.csv \
        --min-common 20 --weight jaccard --top-k 20 --pivots 100 --seed 42
"""
import argparse
import csv
import json
import struct
import sys
import time

import networkx as nx
import numpy as np
import scipy
import scipy.sparse as sp


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def read_cache(path):
    """recsys's ratings cache (RSMATRX1): magic, then length-prefixed arrays
    (data version, customer ids, movie ids, CSR customer side, CSC movie side)."""
    with open(path, "rb") as f:
        assert f.read(8) == b"RSMATRX1", "not a recsys ratings cache"

        def take(dtype):
            (n,) = struct.unpack("<Q", f.read(8))
            return np.frombuffer(f.read(n * np.dtype(dtype).itemsize), dtype=dtype)

        take(np.uint8)                      # data version
        customer_ids = take(np.int64)
        movie_ids = take(np.int64)
        take(np.int64); take(np.int32); take(np.float32); take(np.int32)   # CSR half: not needed
        movie_start = take(np.int64)
        movie_customer = take(np.int32)
    return customer_ids, movie_ids, movie_start, movie_customer


def build(customer_ids, movie_ids, movie_start, movie_customer, min_common, weight, top_k):
    """The pruned co-rating graph, node = movie index, as recsys defines it."""
    movies = len(movie_ids)
    ones = np.ones(len(movie_customer), dtype=np.int32)
    a = sp.csc_matrix((ones, movie_customer, movie_start), shape=(len(customer_ids), movies))
    c = (a.T @ a).tocsr()                   # movies × movies, int32 counts
    c.setdiag(0)
    c.eliminate_zeros()
    c.data[c.data < min_common] = 0
    c.eliminate_zeros()
    n = np.diff(movie_start).astype(np.float64)
    coo = c.tocoo()
    common = coo.data.astype(np.float64)
    ni, nj = n[coo.row], n[coo.col]
    if weight == "count":
        w = common
    elif weight == "jaccard":
        w = common / (ni + nj - common)
    else:
        w = common / np.sqrt(ni * nj)
    rows, cols = coo.row, coo.col
    if top_k is not None:
        # Each node keeps its top_k heaviest edges, ties to the lower neighbour; an edge stays if either end keeps it.
        order = np.lexsort((cols, -w, rows))          # by row, then weight desc, then neighbour asc
        rows_s, cols_s, w_s = rows[order], cols[order], w[order]
        starts = np.searchsorted(rows_s, np.arange(movies))
        rank = np.arange(len(rows_s)) - starts[rows_s]
        kept = rank < top_k
        rows, cols, w = rows_s[kept], cols_s[kept], w_s[kept]
    g = nx.Graph()
    # Both orientations may be present; an undirected graph keeps one (same weight either way).
    g.add_weighted_edges_from(zip(rows.tolist(), cols.tolist(), w.tolist()))
    return g


def same_as_csv(g, movie_ids, path):
    """True when g (nodes = movie indexes) is exactly the edge list recsys wrote (nodes = movie ids)."""
    index = {int(m): i for i, m in enumerate(movie_ids)}
    theirs = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            u, v = index[int(row["source"])], index[int(row["target"])]
            theirs[(min(u, v), max(u, v))] = float(row["weight"])
    if len(theirs) != g.number_of_edges():
        log(f"edge counts differ: recsys {len(theirs)}, here {g.number_of_edges()}")
        return False
    for u, v, w in g.edges(data="weight"):
        other = theirs.get((min(u, v), max(u, v)))
        if other is None or abs(other - w) > 1e-12 * max(1.0, abs(w)):
            log(f"edge {u}-{v}: recsys {other}, here {w}")
            return False
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", required=True)
    parser.add_argument("--edges", required=True)
    parser.add_argument("--min-common", type=int, default=1)
    parser.add_argument("--weight", default="count", choices=["count", "jaccard", "cosine"])
    parser.add_argument("--top-k", type=int)
    parser.add_argument("--pivots", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    seconds = {}
    log("reading the ratings cache …")
    ratings = read_cache(args.cache)
    log("build (scipy AᵀA + pruning + nx.Graph) …")
    t = time.perf_counter()
    g = build(*ratings, args.min_common, args.weight, args.top_k)
    seconds["build"] = time.perf_counter() - t
    log(f"  {seconds['build']:.1f} s: {g.number_of_nodes()} nodes, {g.number_of_edges()} edges")
    same = same_as_csv(g, ratings[1], args.edges)
    log(f"  identical to recsys's edge list: {same}")

    log("louvain …")
    t = time.perf_counter()
    communities = nx.community.louvain_communities(g, weight="weight", seed=args.seed)
    seconds["louvain"] = time.perf_counter() - t
    modularity = nx.community.modularity(g, communities, weight="weight")
    log(f"  {seconds['louvain']:.1f} s, modularity {modularity:.6f}, {len(communities)} communities")

    log("pagerank …")
    t = time.perf_counter()
    nx.pagerank(g, weight="weight")
    seconds["pagerank"] = time.perf_counter() - t

    log(f"betweenness, k = {args.pivots} …")
    t = time.perf_counter()
    nx.betweenness_centrality(g, k=min(args.pivots, g.number_of_nodes()), seed=args.seed)
    seconds["betweenness"] = time.perf_counter() - t
    log(f"  {seconds['betweenness']:.1f} s")

    json.dump({
        "networkx": nx.__version__, "scipy": scipy.__version__, "numpy": np.__version__,
        "python": sys.version.split()[0],
        "nodes": g.number_of_nodes(), "edges": g.number_of_edges(), "same_edges": same,
        "louvain_modularity": modularity, "louvain_communities": len(communities),
        "seconds": seconds,
    }, sys.stdout)
    print()


if __name__ == "__main__":
    main()
