"""Spark MLlib ALS on the rows recsys trains on (experiments/spark_benchmark.sh).

Two steps, run by the shell script around `recsys features` and `recsys train`:

    python experiments/spark_als.py split --ratings ratings.csv --out DIR [--test-fraction 0.1] [--seed 42]
        ratings.csv: customer_id,movie_id,rating without a header (the warehouse's
        \\copy). Sorted by (customer_id, movie_id), each rating is a test pair with
        probability --test-fraction (numpy default_rng(seed)); writes
        DIR/test_pairs.csv (customer_id,movie_id: `recsys features --split file:…`),
        DIR/test.csv (the same pairs with their ratings) and DIR/train.csv (the rest).

    python experiments/spark_als.py fit --train DIR/train.csv --test DIR/test.csv --json OUT.json
        [--rank 50] [--reg 0.1] [--iterations 10] [--seed 42] [--driver-memory 8g]
        pyspark.ml.recommendation.ALS (explicit, regParam scaled by each row's rating
        count as in ALS-WR, no biases) on SparkSession local[2]. The train DataFrame
        is cached and counted first; only ALS.fit (with the factors materialised) is
        timed. Test RMSE: Spark's own (coldStartStrategy="drop", unclipped), and
        recsys's convention (every test pair, predictions clipped to the rating
        scale, pairs with an unseen customer or movie predicted as the train mean).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import pandas as pd


def split(args):
    frame = pd.read_csv(args.ratings, header=None, names=["customer_id", "movie_id", "rating"],
                        dtype={"customer_id": "int64", "movie_id": "int64", "rating": "float64"})
    frame = frame.sort_values(["customer_id", "movie_id"], kind="stable").reset_index(drop=True)
    rng = np.random.default_rng(args.seed)
    is_test = rng.random(len(frame)) < args.test_fraction
    os.makedirs(args.out, exist_ok=True)
    test, train = frame[is_test], frame[~is_test]
    test[["customer_id", "movie_id"]].to_csv(os.path.join(args.out, "test_pairs.csv"), index=False)
    test.to_csv(os.path.join(args.out, "test.csv"), index=False)
    train.to_csv(os.path.join(args.out, "train.csv"), index=False)
    print(f"{len(frame)} ratings: {len(train)} train, {len(test)} test pairs "
          f"(fraction {args.test_fraction}, seed {args.seed}) -> {args.out}", file=sys.stderr)


def fit(args):
    # One OpenBLAS thread per Spark task: local[2] already runs one task per core.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from pyspark.sql import SparkSession, functions as F, types as T
    from pyspark.ml.recommendation import ALS
    from pyspark.ml.evaluation import RegressionEvaluator
    import pyspark

    spark = (SparkSession.builder.master(args.master).appName("recsys-spark-als")
             .config("spark.driver.memory", args.driver_memory)
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", str(args.partitions))
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    jvm = spark.sparkContext._jvm
    blas = jvm.dev.ludovic.netlib.blas.BLAS.getInstance().getClass().getName()
    try:
        native = jvm.dev.ludovic.netlib.blas.NativeBLAS.getInstance().getClass().getName()
    except Exception as error:  # no native BLAS: Spark falls back to its Java implementation
        native = f"unavailable ({type(error).__name__})"

    schema = T.StructType([T.StructField("customer_id", T.IntegerType(), False),
                           T.StructField("movie_id", T.IntegerType(), False),
                           T.StructField("rating", T.FloatType(), False)])
    train = spark.read.csv(args.train, header=True, schema=schema).repartition(args.partitions).cache()
    test = spark.read.csv(args.test, header=True, schema=schema).cache()
    train_rows, test_rows = train.count(), test.count()
    lo, hi, mean = train.agg(F.min("rating"), F.max("rating"), F.avg("rating")).first()

    als = ALS(rank=args.rank, maxIter=args.iterations, regParam=args.reg, userCol="customer_id", itemCol="movie_id",
              ratingCol="rating", coldStartStrategy="drop", seed=args.seed)
    started = time.perf_counter()
    model = als.fit(train)
    model.userFactors.count()
    model.itemFactors.count()
    fit_seconds = time.perf_counter() - started

    predicted = model.transform(test).cache()
    scored = predicted.count()
    rmse_spark = RegressionEvaluator(metricName="rmse", labelCol="rating", predictionCol="prediction").evaluate(predicted)
    # recsys's convention: every pair counts, clipped to the scale, unseen customer or movie → train mean.
    every = (test.join(predicted.select("customer_id", "movie_id", "prediction"), ["customer_id", "movie_id"], "left")
             .withColumn("p", F.least(F.lit(hi), F.greatest(F.lit(lo), F.coalesce(F.col("prediction"), F.lit(mean))))))
    rmse_all = every.agg(F.sqrt(F.avg((F.col("rating") - F.col("p")) ** 2))).first()[0]
    jvm_pid = jvm.java.lang.ProcessHandle.current().pid()
    with open(f"/proc/{jvm_pid}/status") as status:
        peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

    result = {"pyspark": pyspark.__version__, "master": args.master, "driver_memory": args.driver_memory,
              "blas": blas, "native_blas": native,
              "rank": args.rank, "reg": args.reg, "iterations": args.iterations, "seed": args.seed,
              "train_rows": train_rows, "test_rows": test_rows, "scored_test_rows": scored,
              "fit_seconds": fit_seconds, "rmse": rmse_spark, "rmse_all_clipped": rmse_all,
              "jvm_peak_rss_gib": peak_kib / 1024 / 1024}
    with open(args.json, "w") as out:
        json.dump(result, out, indent=2)
    print(json.dumps(result))
    spark.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    steps = parser.add_subparsers(dest="step", required=True)
    s = steps.add_parser("split", help="draw the test pairs; write train.csv, test.csv, test_pairs.csv")
    s.add_argument("--ratings", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--test-fraction", type=float, default=0.1)
    s.add_argument("--seed", type=int, default=42)
    f = steps.add_parser("fit", help="fit Spark's ALS on train.csv, score test.csv")
    f.add_argument("--train", required=True)
    f.add_argument("--test", required=True)
    f.add_argument("--json", required=True)
    f.add_argument("--rank", type=int, default=50)
    f.add_argument("--reg", type=float, default=0.1)
    f.add_argument("--iterations", type=int, default=10)
    f.add_argument("--seed", type=int, default=42)
    f.add_argument("--master", default="local[2]")
    f.add_argument("--driver-memory", default="8g")
    f.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()
    split(args) if args.step == "split" else fit(args)


if __name__ == "__main__":
    main()
