-- recsys warehouse: a star schema of movie ratings, plus the load's own bookkeeping.
-- PostgreSQL 15. Every statement is idempotent: `psql -f schema.sql` may run any
-- number of times, and `recsys load` applies this file (embedded in the binary)
-- on every run.
--
-- The fact table is declared with its primary key and foreign keys. `recsys load`
-- drops them while it fills an empty fact table and builds them again in its
-- post-processing stage: checking three foreign keys row by row during a bulk load
-- costs 20-45x (see shared/ANCHORS.md).

-- One row per calendar day between the earliest and the latest rating.
CREATE TABLE IF NOT EXISTS dim_date (
    date_key     integer  PRIMARY KEY,             -- yyyymmdd, e.g. 20051231
    date_actual  date     NOT NULL UNIQUE,
    year         smallint NOT NULL,
    quarter      smallint NOT NULL CHECK (quarter BETWEEN 1 AND 4),
    month        smallint NOT NULL CHECK (month BETWEEN 1 AND 12),
    day          smallint NOT NULL CHECK (day BETWEEN 1 AND 31),
    day_of_week  smallint NOT NULL CHECK (day_of_week BETWEEN 1 AND 7),  -- ISO 8601: Monday = 1
    month_name   text     NOT NULL,
    is_weekend   boolean  NOT NULL
);

-- One row per movie of the titles file (movie_titles.csv or movies.csv).
-- movie_key is dense (1..n in movie_id order), assigned by the loader.
CREATE TABLE IF NOT EXISTS dim_movie (
    movie_key     integer  PRIMARY KEY,
    movie_id      bigint   NOT NULL UNIQUE,         -- the source's id
    title         text     NOT NULL,
    release_year  smallint,                         -- NULL where the source says NULL or gives none
    genres        text                              -- MovieLens only ('Comedy|Drama')
);

-- One row per customer with at least one loaded rating.
-- customer_key is dense (1..n in customer_id order), assigned by the loader.
CREATE TABLE IF NOT EXISTS dim_customer (
    customer_key       integer PRIMARY KEY,
    customer_id        bigint  NOT NULL UNIQUE,     -- the source's id (sparse in Netflix)
    first_rating_date  date    NOT NULL,
    last_rating_date   date    NOT NULL,
    total_ratings      integer NOT NULL CHECK (total_ratings > 0)
);

-- One row per rating. numeric(2,1) holds MovieLens half stars (0.5 .. 5.0) exactly.
CREATE TABLE IF NOT EXISTS fact_ratings (
    customer_key  integer      NOT NULL,
    movie_key     integer      NOT NULL,
    date_key      integer      NOT NULL,
    rating        numeric(2,1) NOT NULL
        CONSTRAINT fact_ratings_rating_check CHECK (rating BETWEEN 0.5 AND 5.0 AND rating * 2 = trunc(rating * 2)),
    -- Movie first: the Netflix files come movie by movie, so the loader can
    -- write rows in this order and the key builds from presorted input.
    -- fact_ratings_customer_idx (built by post-processing) serves customer lookups.
    CONSTRAINT fact_ratings_pkey PRIMARY KEY (movie_key, customer_key),
    CONSTRAINT fact_ratings_customer_fk FOREIGN KEY (customer_key) REFERENCES dim_customer (customer_key),
    CONSTRAINT fact_ratings_movie_fk    FOREIGN KEY (movie_key)    REFERENCES dim_movie (movie_key),
    CONSTRAINT fact_ratings_date_fk     FOREIGN KEY (date_key)     REFERENCES dim_date (date_key)
);
-- Post-processing also builds fact_ratings_customer_idx ON fact_ratings (customer_key)
-- for per-customer queries; it is left out here so that re-applying this file
-- during a resumed load does not index a half-filled table.

-- ---------------------------------------------------------------------------
-- The load's bookkeeping. The checkpoint rows are the source of truth for
-- resuming: each batch of fact rows commits in the same transaction as the
-- checkpoint row that covers it.

-- The one load this warehouse holds: which files (fingerprinted) and what the
-- pre-load scan found in them.
CREATE TABLE IF NOT EXISTS etl_run (
    run_id       integer     PRIMARY KEY DEFAULT 1 CHECK (run_id = 1),
    format       text        NOT NULL,              -- 'netflix' | 'movielens'
    source_dir   text        NOT NULL,
    fingerprint  jsonb       NOT NULL,              -- per file: name, size, mtime, sampled hash
    expected     jsonb       NOT NULL,              -- row counts the scan found
    data_version text        NOT NULL,              -- changes whenever the loaded data can change
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);

-- One row per stage, and per source file for the fact stage.
CREATE TABLE IF NOT EXISTS etl_checkpoint (
    stage        text             NOT NULL,         -- dim_date | dim_movie | dim_customer | fact_ratings | post_processing
    file         text             NOT NULL DEFAULT '',
    byte_offset  bigint           NOT NULL DEFAULT 0,   -- next unread byte of `file`, always a line start
    line         bigint           NOT NULL DEFAULT 0,   -- lines read before byte_offset
    context      bigint,                                -- the open MovieID block at byte_offset (Netflix)
    rows         bigint           NOT NULL DEFAULT 0,   -- rows committed by this stage/file
    expected     bigint           NOT NULL DEFAULT 0,   -- rows the scan expects
    done         boolean          NOT NULL DEFAULT false,
    seconds      double precision NOT NULL DEFAULT 0,
    updated_at   timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (stage, file)
);

-- Bad source lines skipped under --max-rejects.
CREATE TABLE IF NOT EXISTS etl_rejects (
    file         text        NOT NULL,
    line         bigint      NOT NULL,
    text         text        NOT NULL,
    reason       text        NOT NULL,
    rejected_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (file, line)
);

-- ---------------------------------------------------------------------------
-- Features (recsys features). Keys below refer to the load named by
-- data_version; they carry no foreign keys so that `recsys load --fresh` can
-- replace the dimensions, after which the features are stale (and say so).

-- Every split ever made. random and temporal splits are re-derived from their
-- definition (a seeded hash per pair, or dates); probe and file splits keep
-- their test pairs in feature_split_pair. test_checksum identifies the exact
-- test set, so two runs can prove they used the same one.
CREATE TABLE IF NOT EXISTS feature_split (
    split_id             serial           PRIMARY KEY,
    kind                 text             NOT NULL CHECK (kind IN ('random', 'temporal', 'probe', 'file')),
    source               text,                          -- the pairs file (probe, file)
    seed                 bigint           NOT NULL,
    test_fraction        double precision,              -- random, temporal
    validation_fraction  double precision NOT NULL,     -- carved from train, for tuning
    data_version         text             NOT NULL,
    train_ratings        bigint           NOT NULL,
    validation_ratings   bigint           NOT NULL,
    test_ratings         bigint           NOT NULL,
    test_checksum        text             NOT NULL,
    global_mean          double precision NOT NULL,     -- of the train part
    customer_damping     double precision NOT NULL,
    movie_damping        double precision NOT NULL,
    seconds              double precision NOT NULL,
    created_at           timestamptz      NOT NULL DEFAULT now()
);

-- The per-row tables below name their split (or run) without a foreign key:
-- a key check per row made writing 1.9M rows take 20 s at Netflix scale, and
-- recsys only ever appends the parent row first, in the same transaction.
CREATE TABLE IF NOT EXISTS feature_split_pair (
    split_id      integer NOT NULL,
    customer_key  integer NOT NULL,
    movie_key     integer NOT NULL,
    PRIMARY KEY (split_id, customer_key, movie_key)
);

-- The biases of the newest split (fitted on its train part only).
CREATE TABLE IF NOT EXISTS feature_customer_bias (
    split_id      integer          NOT NULL,
    customer_key  integer          NOT NULL,
    bias          double precision NOT NULL,
    ratings       integer          NOT NULL,        -- train ratings behind the bias
    PRIMARY KEY (split_id, customer_key)
);

CREATE TABLE IF NOT EXISTS feature_movie_bias (
    split_id   integer          NOT NULL,
    movie_key  integer          NOT NULL,
    bias       double precision NOT NULL,
    ratings    integer          NOT NULL,
    PRIMARY KEY (split_id, movie_key)
);

-- ---------------------------------------------------------------------------
-- Models (recsys train / evaluate / recommend).

-- Every fitted model, including grid-search candidates that were not saved.
CREATE TABLE IF NOT EXISTS model_runs (
    run_id        serial           PRIMARY KEY,
    model         text             NOT NULL,        -- als | svd | sgd | …
    params        jsonb            NOT NULL,
    metrics       jsonb            NOT NULL,        -- {"validation": {...}, "test": {...}}
    iterations    jsonb,                            -- per iteration: train/validation RMSE, seconds
    fit_seconds   double precision NOT NULL,
    data_version  text             NOT NULL,
    split_id      integer          REFERENCES feature_split ON DELETE SET NULL,
    path          text,                             -- the model file, when saved
    grid_id       text,                             -- groups the candidates of one grid search
    created_at    timestamptz      NOT NULL DEFAULT now()
);

-- The top-N of every customer (recsys recommend --all), from one model run.
CREATE TABLE IF NOT EXISTS recommendations (
    run_id           integer          NOT NULL,     -- model_runs.run_id (no key check per row: 4.8M rows at Netflix scale)
    customer_key     integer          NOT NULL,
    position         smallint         NOT NULL,     -- 1 = best
    movie_key        integer          NOT NULL,
    predicted_rating double precision NOT NULL,
    PRIMARY KEY (run_id, customer_key, position)
);

-- ---------------------------------------------------------------------------
-- Live ratings (POST /v1/ratings of `recsys serve`).

-- One row per accepted request. The Idempotency-Key maps to the first
-- response: the same key again returns it and writes nothing.
CREATE TABLE IF NOT EXISTS rating_batch (
    batch_id         bigserial   PRIMARY KEY,
    idempotency_key  text        UNIQUE,
    request_hash     text        NOT NULL,          -- of the request body: a key reused for another body is refused
    response         jsonb       NOT NULL,
    inserted         integer     NOT NULL,          -- new (customer, movie) pairs in fact_ratings
    replaced         integer     NOT NULL,          -- pairs whose rating or date changed (old value in fact_ratings_history)
    new_customers    integer     NOT NULL,          -- rows added to dim_customer
    new_dates        integer     NOT NULL,          -- rows added to dim_date
    data_version     text        NOT NULL,          -- the warehouse's data version after this batch
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS rating_batch_version_idx ON rating_batch (data_version);

-- Which batch wrote a fact row (NULL: the load).
-- The rows batches wrote (an index for extending a ratings cache by the delta;
-- loaded rows, NULL, take no entries). Checked in the catalog first: ALTER
-- TABLE … IF NOT EXISTS and CREATE INDEX IF NOT EXISTS lock fact_ratings even
-- when there is nothing to do, and every command migrates while readers read
-- and live batches write.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'fact_ratings'::regclass AND attname = 'batch_id' AND NOT attisdropped) THEN
        ALTER TABLE fact_ratings ADD COLUMN batch_id bigint;
    END IF;
    IF to_regclass('fact_ratings_batch_idx') IS NULL THEN
        CREATE INDEX fact_ratings_batch_idx ON fact_ratings (batch_id) WHERE batch_id IS NOT NULL;
    END IF;
END $$;

-- Every rating value that was replaced, with the interval it was current:
-- "what did the warehouse say on day D" stays answerable.
CREATE TABLE IF NOT EXISTS fact_ratings_history (
    customer_key  integer      NOT NULL,
    movie_key     integer      NOT NULL,
    date_key      integer      NOT NULL,
    rating        numeric(2,1) NOT NULL,
    valid_from    timestamptz  NOT NULL,            -- written by the load (its start) or a batch
    valid_to      timestamptz  NOT NULL,            -- replaced then
    batch_id      bigint,                           -- that wrote the value (NULL: the load)
    replaced_by   bigint       NOT NULL,            -- rating_batch.batch_id
    PRIMARY KEY (customer_key, movie_key, valid_to)
);

-- The last batch that changed each customer's ratings: a model trained before
-- it folds the customer in instead of serving stale factors.
CREATE TABLE IF NOT EXISTS live_customer (
    customer_key  integer PRIMARY KEY,
    batch_id      bigint  NOT NULL
);

-- ---------------------------------------------------------------------------
-- Appended files (recsys load --append DIR): new ratings and titles after the first load.

-- One row per appended file (by its full path): its fingerprint and how far it
-- is applied. Each batch of ratings commits with rows_done, so a killed append
-- resumes exactly; a done file with the same fingerprint is skipped; a done
-- file whose bytes changed is refused.
CREATE TABLE IF NOT EXISTS etl_append_file (
    path         text        PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('ratings', 'titles')),
    fingerprint  jsonb       NOT NULL,
    rows_total   bigint      NOT NULL,              -- ratings (or title rows) the file holds
    rows_done    bigint      NOT NULL DEFAULT 0,    -- applied so far, committed with each batch
    new_movies   integer     NOT NULL DEFAULT 0,    -- rows a titles file added to dim_movie
    done         boolean     NOT NULL DEFAULT false,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);

-- Every version of every movie whose title, year or genres an appended titles
-- file changed (SCD type 2); dim_movie holds the current one.
CREATE TABLE IF NOT EXISTS dim_movie_history (
    movie_key     integer     NOT NULL,
    movie_id      bigint      NOT NULL,
    title         text        NOT NULL,
    release_year  smallint,
    genres        text,
    valid_from    timestamptz NOT NULL,
    valid_to      timestamptz,                      -- NULL while current
    is_current    boolean     NOT NULL,
    PRIMARY KEY (movie_key, valid_from)
);
CREATE UNIQUE INDEX IF NOT EXISTS dim_movie_history_current_idx ON dim_movie_history (movie_key) WHERE is_current;

-- Warehouses made before the per-row key checks were dropped.
-- (Only where the constraint is there: ALTER TABLE locks the table even when it has nothing to drop.)
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conrelid::regclass AS tab, conname FROM pg_constraint
             WHERE conname IN ('feature_split_pair_split_id_fkey', 'feature_customer_bias_split_id_fkey',
                               'feature_movie_bias_split_id_fkey', 'recommendations_run_id_fkey') LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.tab, c.conname);
    END LOOP;
END $$;

-- ---------------------------------------------------------------------------
-- Graph analyses (recsys graph).

CREATE TABLE IF NOT EXISTS graph_run (
    run_id       serial           PRIMARY KEY,
    network      text             NOT NULL,         -- movie | customer | edges:<file>
    params       jsonb            NOT NULL,
    nodes        integer          NOT NULL,
    edges        bigint           NOT NULL,
    algorithm    text,                              -- louvain | leiden
    modularity   double precision,
    data_version text,
    seconds      double precision NOT NULL,
    created_at   timestamptz      NOT NULL DEFAULT now()
);

-- node: the movie_id or customer_id (or the edge list's label) of the node.
CREATE TABLE IF NOT EXISTS graph_community (
    run_id     integer NOT NULL REFERENCES graph_run ON DELETE CASCADE,
    network    text    NOT NULL,
    node       text    NOT NULL,
    community  integer NOT NULL,
    PRIMARY KEY (run_id, node)
);

CREATE TABLE IF NOT EXISTS graph_centrality (
    run_id           integer          NOT NULL REFERENCES graph_run ON DELETE CASCADE,
    network          text             NOT NULL,
    node             text             NOT NULL,
    degree           integer,
    weighted_degree  double precision,
    pagerank         double precision,
    eigenvector      double precision,
    betweenness      double precision,
    harmonic         double precision,
    PRIMARY KEY (run_id, node)
);

-- ---------------------------------------------------------------------------
-- Analytics (recsys analytics). Materialized views over the facts, created
-- WITH NO DATA — this file is re-applied on every connection, so creating them
-- must cost nothing even beside 100M facts — and refreshed by the load at the
-- end of its post-processing stage (and by `recsys analytics` when they were
-- never filled). The plain views below read them; queried before a refresh
-- they say "has not been populated".

-- Ratings per movie and rating value: one parallel pass over fact_ratings.
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_movie_rating_counts AS
SELECT movie_key, rating, count(*)::bigint AS ratings
FROM fact_ratings
GROUP BY movie_key, rating
WITH NO DATA;

-- Ratings per day and rating value: a second parallel pass. (One GROUPING SETS
-- pass for both runs on one core and took longer: 66 s against 23 + 30 s at
-- Netflix scale.)
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_daily_rating_counts AS
SELECT date_key, rating, count(*)::bigint AS ratings
FROM fact_ratings
GROUP BY date_key, rating
WITH NO DATA;

-- Customers by their number of ratings, from dim_customer.total_ratings, which
-- `recsys check` (customer_aggregates) proves equal to the facts: no third pass.
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_customer_activity AS
SELECT total_ratings, count(*)::bigint AS customers
FROM dim_customer
GROUP BY total_ratings
WITH NO DATA;

-- What live batches and appends changed since the last refresh, as signed
-- counts; the views below add them to the materialized ones, so the figures
-- move by the delta without a pass over the facts. A refresh empties them.
CREATE TABLE IF NOT EXISTS delta_movie_rating_counts (
    movie_key integer NOT NULL, rating numeric(2,1) NOT NULL, ratings bigint NOT NULL, PRIMARY KEY (movie_key, rating));
CREATE TABLE IF NOT EXISTS delta_daily_rating_counts (
    date_key integer NOT NULL, rating numeric(2,1) NOT NULL, ratings bigint NOT NULL, PRIMARY KEY (date_key, rating));
CREATE TABLE IF NOT EXISTS delta_customer_activity (
    total_ratings integer PRIMARY KEY, customers bigint NOT NULL);

CREATE OR REPLACE VIEW movie_rating_counts AS
SELECT movie_key, rating, sum(ratings)::bigint AS ratings
FROM (SELECT movie_key, rating, ratings FROM mv_movie_rating_counts
      UNION ALL SELECT movie_key, rating, ratings FROM delta_movie_rating_counts) c
GROUP BY movie_key, rating HAVING sum(ratings) <> 0;

CREATE OR REPLACE VIEW daily_rating_counts AS
SELECT date_key, rating, sum(ratings)::bigint AS ratings
FROM (SELECT date_key, rating, ratings FROM mv_daily_rating_counts
      UNION ALL SELECT date_key, rating, ratings FROM delta_daily_rating_counts) c
GROUP BY date_key, rating HAVING sum(ratings) <> 0;

CREATE OR REPLACE VIEW customer_activity AS
SELECT total_ratings, sum(customers)::bigint AS customers
FROM (SELECT total_ratings, customers FROM mv_customer_activity
      UNION ALL SELECT total_ratings, customers FROM delta_customer_activity) c
GROUP BY total_ratings HAVING sum(customers) <> 0;

-- Per movie: number of ratings and mean rating (movies with at least one rating).
CREATE OR REPLACE VIEW analytics_movie AS
SELECT m.movie_key, m.movie_id, m.title, m.release_year, s.ratings, s.mean_rating
FROM (SELECT movie_key, sum(ratings)::bigint AS ratings, sum(rating * ratings) / sum(ratings) AS mean_rating
      FROM movie_rating_counts GROUP BY movie_key) s
JOIN dim_movie m USING (movie_key);

-- Per calendar month: number of ratings and mean rating.
CREATE OR REPLACE VIEW analytics_month AS
SELECT d.year, d.month, sum(r.ratings)::bigint AS ratings, sum(r.rating * r.ratings) / sum(r.ratings) AS mean_rating
FROM daily_rating_counts r JOIN dim_date d USING (date_key)
GROUP BY d.year, d.month;
