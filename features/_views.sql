-- Shared tables and views over the clean tables. Every family selects from these and from
-- `snapshots` (one row per cut-off `snapshot_date`, at midnight UTC); an event counts for a
-- snapshot only when it happened strictly before the cut-off.

-- A ratio limited to `cap`; unlike least(), NULL (nothing to divide by) stays NULL.
CREATE OR REPLACE TEMP MACRO capped(x, cap) AS CASE WHEN x > cap THEN cap ELSE x END;

-- The days each snapshot's windows cover (up to 90 days back). Joining the big event tables
-- on the event's day assigns them to snapshots by equality, far cheaper than a range join:
-- day `s - k` holds exactly the events in [s - k days, s - k days + 1 day).
CREATE OR REPLACE TEMP TABLE snapshot_days AS
SELECT snapshot_date, CAST(snapshot_date - to_days(CAST(k AS INTEGER)) AS DATE) AS day,
       k AS days_before
FROM snapshots, range(1, 91) AS r(k);

-- A compact integer key per account: the big per-account tables below are keyed by it, as
-- hashing and sorting 32-character pseudonyms costs several times more.
CREATE OR REPLACE TEMP TABLE account_keys AS
SELECT account_id, CAST(row_number() OVER (ORDER BY account_id) AS INTEGER) AS account_key
FROM accounts;

-- Each payment seen once from each side that is a customer account, with the time of the
-- account's next payment out (at or after this one: how long incoming money stays) and its
-- number of payments in the hour up to this one (bursts), in the 30 days before each
-- snapshot. Both windows share one sort of the account's payments. The other side is kept as a 64-bit hash, enough to count
-- distinct counterparties.
CREATE OR REPLACE TEMP TABLE account_flows_30d AS
WITH recent AS (
    SELECT ts, src_id, dst_id, amount
    FROM transactions
    WHERE ts >= (SELECT min(snapshot_date) FROM snapshots) - INTERVAL 30 DAY
      AND ts < (SELECT max(snapshot_date) FROM snapshots)
),
sides AS (
    SELECT k.account_key, r.ts, r.amount, false AS incoming, hash(r.dst_id) AS counterparty
    FROM recent r JOIN account_keys k ON k.account_id = r.src_id
    UNION ALL
    SELECT k.account_key, r.ts, r.amount, true, hash(r.src_id)
    FROM recent r JOIN account_keys k ON k.account_id = r.dst_id
),
forwarding AS (
    SELECT
        *,
        min(CASE WHEN NOT incoming THEN ts END) OVER (
            PARTITION BY account_key ORDER BY ts, incoming DESC
            ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING
        ) AS next_out_ts,
        count(*) OVER (
            PARTITION BY account_key ORDER BY ts
            RANGE BETWEEN INTERVAL 1 HOUR PRECEDING AND CURRENT ROW
        ) AS txns_past_hour
    FROM sides
)
SELECT f.*, d.snapshot_date, d.days_before
FROM forwarding f
JOIN snapshot_days d ON d.day = CAST(f.ts AS DATE) AND d.days_before <= 30;

-- Each account's logins per device and network address (64-bit hashes: cheap to group,
-- collisions negligible) in the 90 days before each snapshot. An account logs in from the
-- same few pairs again and again, so one row per pair and snapshot makes what follows small.
CREATE OR REPLACE TEMP TABLE device_sightings_90d AS
SELECT
    k.account_key,
    d.snapshot_date,
    hash(e.device_id) AS device,
    CASE WHEN e.ip IS NOT NULL THEN hash(e.ip) END AS ip,
    count(*) AS logins,
    count(*) FILTER (WHERE hour(e.ts) < 5) AS night_logins
FROM device_events e
JOIN account_keys k USING (account_id)
JOIN snapshot_days d ON d.day = CAST(e.ts AS DATE)
WHERE e.ts >= (SELECT min(snapshot_date) FROM snapshots) - INTERVAL 90 DAY
  AND e.ts < (SELECT max(snapshot_date) FROM snapshots)
GROUP BY ALL;

-- The intermediary itself and every account registered with its phone: where money sent
-- "to the intermediary" can land.
CREATE OR REPLACE TEMP VIEW intermediary_receivers AS
SELECT i.intermediary_id, a.account_id AS receiver
FROM intermediaries i
JOIN accounts a ON a.phone = i.phone
UNION ALL
SELECT intermediary_id, intermediary_id FROM intermediaries;

CREATE OR REPLACE TEMP VIEW account_snapshots AS
SELECT a.account_id AS entity_id, k.account_key, s.snapshot_date
FROM accounts a JOIN account_keys k USING (account_id) CROSS JOIN snapshots s
WHERE a.opened_at IS NULL OR a.opened_at < s.snapshot_date;

CREATE OR REPLACE TEMP VIEW intermediary_snapshots AS
SELECT i.intermediary_id AS entity_id, s.snapshot_date
FROM intermediaries i CROSS JOIN snapshots s
WHERE i.registered_at IS NULL OR i.registered_at < s.snapshot_date;
