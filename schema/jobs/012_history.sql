-- bitfarm broker job database, version 12 (after 011_http_tokens): a long
-- job history (issue 20).  Applied by bf_db_open in one transaction.
-- Nothing the broker does on its own, or for one request, walks the
-- finished jobs it keeps: indexes for retention and a cache entry's
-- sources, and the numbers of /metrics kept up to date by triggers
-- instead of counted over the whole history at every scrape.

-- Retention (--keep-jobs, bf_jobs_retain.c): finished jobs, oldest first.
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state NOT IN ('queued', 'running');
-- The jobs built from git that made a cache entry (`bitfarm cache show`).
CREATE INDEX jobs_key_sources ON jobs (cache_key, seq) WHERE provenance IS NOT NULL;

-- How many jobs the broker keeps, by state, failure class ('' for none)
-- and owner ('' for none): bitfarm_jobs_total, bitfarm_jobs_failed_total
-- and FARM.  Every insert, delete and change of those columns of jobs
-- moves one count, in the same transaction.
CREATE TABLE job_counts (
    state         TEXT NOT NULL,
    failure_class TEXT NOT NULL,
    owner         TEXT NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (state, failure_class, owner)
) WITHOUT ROWID;
INSERT INTO job_counts SELECT state, IFNULL (failure_class, ''), IFNULL (owner, ''), count (*)
    FROM jobs GROUP BY 1, 2, 3;
CREATE TRIGGER job_counts_insert AFTER INSERT ON jobs BEGIN
    INSERT INTO job_counts VALUES (new.state, IFNULL (new.failure_class, ''),
                                   IFNULL (new.owner, ''), 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER job_counts_delete AFTER DELETE ON jobs BEGIN
    UPDATE job_counts SET n = n - 1 WHERE state = old.state
        AND failure_class = IFNULL (old.failure_class, '') AND owner = IFNULL (old.owner, '');
END;
CREATE TRIGGER job_counts_update AFTER UPDATE OF state, failure_class, owner ON jobs
    WHEN old.state IS NOT new.state OR old.failure_class IS NOT new.failure_class
         OR old.owner IS NOT new.owner BEGIN
    UPDATE job_counts SET n = n - 1 WHERE state = old.state
        AND failure_class = IFNULL (old.failure_class, '') AND owner = IFNULL (old.owner, '');
    INSERT INTO job_counts VALUES (new.state, IFNULL (new.failure_class, ''),
                                   IFNULL (new.owner, ''), 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

-- The histograms of /metrics (bf_jobs_histograms), counted as they
-- happen: queue_wait, from a job's submission to each of its dispatches
-- (a start, a cache hit, a follower given its leader's start); a stage,
-- from its "stage" event to the job's next event.  They only grow:
-- removing old jobs does not lower them.  Their bounds (seconds) are
-- bf_metrics.c's s_bounds; a change of one needs a migration.
CREATE TABLE job_hist_bounds (le REAL PRIMARY KEY);
INSERT INTO job_hist_bounds VALUES (0.1), (0.5), (1), (2), (5), (10), (30), (60), (120), (300),
    (600), (1800), (3600);
-- Cumulative bucket counts (observations <= le) ...
CREATE TABLE job_hist (
    metric TEXT NOT NULL,                -- queue_wait | stage
    stage  TEXT NOT NULL,                -- the stage; '' for queue_wait
    le     REAL NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (metric, stage, le)
) WITHOUT ROWID;
-- ... and the count and sum (seconds) of each histogram.
CREATE TABLE job_hist_sums (
    metric TEXT NOT NULL,
    stage  TEXT NOT NULL,
    count  INTEGER NOT NULL,
    sum    REAL NOT NULL,
    PRIMARY KEY (metric, stage)
) WITHOUT ROWID;

-- The history kept so far, once.
INSERT INTO job_hist SELECT 'queue_wait', '', b.le, count (*) FROM jobs j, job_hist_bounds b
    WHERE j.started_at IS NOT NULL AND b.le >= max (j.started_at - j.submitted_at, 0) / 1000.0
    GROUP BY b.le;
INSERT INTO job_hist_sums SELECT 'queue_wait', '', count (*),
    IFNULL (sum (max (started_at - submitted_at, 0) / 1000.0), 0.0)
    FROM jobs WHERE started_at IS NOT NULL;
CREATE TEMP TABLE s_stages AS SELECT reason, max (dur, 0) / 1000.0 AS v FROM
    (SELECT event, reason, lead (at) OVER (PARTITION BY job ORDER BY id) - at AS dur FROM events)
    WHERE event = 'stage' AND dur IS NOT NULL AND reason IS NOT NULL AND length (reason) <= 32
    AND reason != '' AND reason NOT GLOB '*[^a-z_]*';
INSERT INTO job_hist_sums SELECT 'stage', reason, count (*), sum (v) FROM s_stages
    WHERE reason IN (SELECT DISTINCT reason FROM s_stages ORDER BY reason LIMIT 16)
    GROUP BY reason;
INSERT INTO job_hist SELECT 'stage', s.reason, b.le, count (*) FROM s_stages s, job_hist_bounds b
    WHERE s.reason IN (SELECT stage FROM job_hist_sums WHERE metric = 'stage') AND b.le >= s.v
    GROUP BY s.reason, b.le;
DROP TABLE s_stages;

-- From now on, as it happens.
CREATE TRIGGER job_hist_start AFTER UPDATE OF started_at ON jobs
    WHEN new.started_at IS NOT NULL AND new.started_at IS NOT old.started_at BEGIN
    INSERT INTO job_hist SELECT 'queue_wait', '', le, 1 FROM job_hist_bounds
        WHERE le >= max (new.started_at - new.submitted_at, 0) / 1000.0
        ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO job_hist_sums VALUES ('queue_wait', '', 1,
                                      max (new.started_at - new.submitted_at, 0) / 1000.0)
        ON CONFLICT DO UPDATE SET count = count + 1, sum = sum + excluded.sum;
END;
CREATE TRIGGER job_hist_insert AFTER INSERT ON jobs WHEN new.started_at IS NOT NULL BEGIN
    INSERT INTO job_hist SELECT 'queue_wait', '', le, 1 FROM job_hist_bounds
        WHERE le >= max (new.started_at - new.submitted_at, 0) / 1000.0
        ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO job_hist_sums VALUES ('queue_wait', '', 1,
                                      max (new.started_at - new.submitted_at, 0) / 1000.0)
        ON CONFLICT DO UPDATE SET count = count + 1, sum = sum + excluded.sum;
END;
CREATE TRIGGER job_hist_stage AFTER INSERT ON events BEGIN
    INSERT INTO job_hist SELECT 'stage', p.reason, b.le, 1
        FROM (SELECT event, reason, at FROM events WHERE job = new.job AND id < new.id
              ORDER BY id DESC LIMIT 1) p, job_hist_bounds b
        WHERE p.event = 'stage' AND p.reason IS NOT NULL AND p.reason != ''
        AND length (p.reason) <= 32 AND p.reason NOT GLOB '*[^a-z_]*'
        AND (EXISTS (SELECT 1 FROM job_hist_sums WHERE metric = 'stage' AND stage = p.reason)
             OR (SELECT count (*) FROM job_hist_sums WHERE metric = 'stage') < 16)
        AND b.le >= max (new.at - p.at, 0) / 1000.0
        ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO job_hist_sums SELECT 'stage', p.reason, 1, max (new.at - p.at, 0) / 1000.0
        FROM (SELECT event, reason, at FROM events WHERE job = new.job AND id < new.id
              ORDER BY id DESC LIMIT 1) p
        WHERE p.event = 'stage' AND p.reason IS NOT NULL AND p.reason != ''
        AND length (p.reason) <= 32 AND p.reason NOT GLOB '*[^a-z_]*'
        AND (EXISTS (SELECT 1 FROM job_hist_sums WHERE metric = 'stage' AND stage = p.reason)
             OR (SELECT count (*) FROM job_hist_sums WHERE metric = 'stage') < 16)
        ON CONFLICT DO UPDATE SET count = count + 1, sum = sum + excluded.sum;
END;
