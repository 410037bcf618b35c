-- Shared tables and views over the clean tables. Every family selects from these and from
-- `snapshots` (one row per cut-off `snapshot_date`, at midnight UTC); an event counts for a
-- snapshot only when it happened strictly before the cut-off.

-- A ratio limited to `cap`; unlike least(), NULL (nothing to divide by) stays NULL.
CREATE OR REPLACE TEMP MACRO capped(x, cap) AS CASE WHEN x > cap THEN cap ELSE x END;

-- The UTC day (days since 1970-01-01) and hour of day of an event, from its timestamp or
-- from its microseconds since the epoch (as the flow table keeps it). Timestamps are UTC, so
-- the same instant as a plain TIMESTAMP (no time zone) has the same calendar, and DuckDB
-- reads that calendar without the ICU library that costs several times more per row on
-- TIMESTAMPTZ (in CAST(ts AS DATE), hour(ts), date_diff).
CREATE OR REPLACE TEMP MACRO utc_day_of_us(us) AS
    CAST(CAST(make_timestamp(us) AS DATE) - DATE '1970-01-01' AS INTEGER);
CREATE OR REPLACE TEMP MACRO utc_hour_of_us(us) AS CAST(hour(make_timestamp(us)) AS INTEGER);
CREATE OR REPLACE TEMP MACRO utc_day(ts) AS utc_day_of_us(epoch_us(ts));
CREATE OR REPLACE TEMP MACRO utc_hour(ts) AS utc_hour_of_us(epoch_us(ts));

-- The kinds of value an entity is seen with (devices and network addresses at login,
-- phones and id numbers on records and complaints): one byte a row, where the text takes
-- sixteen in the tens of millions of sightings; compared with text as text is.
CREATE TYPE IF NOT EXISTS sighting_kind AS ENUM ('device', 'ip', 'phone', 'id_number');

-- Whether an event can fall in a window of `days` before some snapshot: the big event
-- tables are read through it, so that scoring one snapshot does not read a whole year.
-- The first and last cut-off are constants (`first_cutoff()`, `last_cutoff()`, set with the
-- snapshots, pipeline/featurize.py): DuckDB pushes a comparison with a constant into the
-- Parquet scan, which then skips the rows out of reach before decoding their identifiers;
-- a comparison with a subquery on `snapshots` it applied only after the joins.
CREATE OR REPLACE TEMP MACRO within_reach(ts, days) AS
    ts >= first_cutoff() - to_days(CAST(days AS INTEGER)) AND ts < last_cutoff();

-- The payments that can fall in such a window: families joining the payments on other
-- conditions (a surrender, a disbursal) read these.
CREATE OR REPLACE TEMP MACRO payments_within(days) AS TABLE
SELECT * FROM transactions WHERE within_reach(ts, days);

-- The days each snapshot's windows cover (up to 90 days back). Joining the big event tables
-- on the event's day assigns them to snapshots by equality, far cheaper than a range join:
-- day number `s - k` holds exactly the events in [s - k days, s - k days + 1 day).
CREATE OR REPLACE TEMP TABLE snapshot_days AS
SELECT snapshot_date, CAST(utc_day(snapshot_date) - k AS INTEGER) AS day, k AS days_before
FROM snapshots, range(1, 91) AS r(k);

-- Sets of snapshots as bits, for what is seen again and again over overlapping windows (a
-- device logged in from every month is in three 90-day windows): snapshot number i, in time
-- order, is `bit` i % 64 of `chunk` i // 64. One row per value and chunk with the bits of
-- the snapshots that see it is a quarter of the rows of one per value and snapshot.
CREATE OR REPLACE TEMP TABLE snapshot_bits AS
SELECT snapshot_date, CAST(i // 64 AS INTEGER) AS chunk, CAST(i % 64 AS UBIGINT) AS bit
FROM (SELECT snapshot_date, row_number() OVER (ORDER BY snapshot_date) - 1 AS i FROM snapshots);

-- Whether set `snapshots` (of a chunk) holds the snapshot at `bit` (of snapshot_bits). Both
-- UBIGINT: shifted by a signed number, DuckDB would widen the bits to 128.
CREATE OR REPLACE TEMP MACRO holds(snapshots, bit) AS (snapshots >> bit) & 1 = 1;

-- The snapshots whose 90-day windows hold each day, as bits: a day before a chunk's first
-- snapshot and after the last of the chunk before has a row for each.
CREATE OR REPLACE TEMP TABLE day_snapshots_90d AS
SELECT d.day, b.chunk, bit_or(CAST(1 AS UBIGINT) << b.bit) AS snapshots
FROM snapshot_days d JOIN snapshot_bits b USING (snapshot_date)
GROUP BY ALL;

-- A compact integer key per account and per intermediary, numbered in the order of their
-- ids: the big per-account tables below and every family's rows are keyed by it, as
-- hashing, sorting and storing 32-character pseudonyms costs several times more. The tens
-- of millions of payments and logins find their account by `id_hash`, the 64-bit hash of
-- its id (collisions negligible, as for the counterparties): a join then compares integers
-- instead of pseudonyms, and a payment's two ids are hashed once for both its sides.
CREATE OR REPLACE TEMP TABLE account_keys AS
SELECT account_id, CAST(row_number() OVER (ORDER BY account_id) AS INTEGER) AS account_key,
       hash(account_id) AS id_hash
FROM accounts;

CREATE OR REPLACE TEMP TABLE intermediary_keys AS
SELECT intermediary_id,
       CAST(row_number() OVER (ORDER BY intermediary_id) AS INTEGER) AS intermediary_key
FROM intermediaries;

-- A person is everyone sharing an id number (its pseudonym): how an insurer policy meets
-- the refund arriving at the bank. Accounts without one stand alone.
CREATE OR REPLACE TEMP MACRO person_of(id_number, account_id) AS coalesce(id_number, account_id);

CREATE OR REPLACE TEMP VIEW account_persons AS
SELECT account_id, person_of(id_number, account_id) AS person_id FROM accounts;

-- The intermediary itself and every account registered with its phone: where money sent
-- "to the intermediary" can land.
CREATE OR REPLACE TEMP VIEW intermediary_receivers AS
SELECT i.intermediary_id, a.account_id AS receiver
FROM intermediaries i
JOIN accounts a ON a.phone = i.phone
UNION ALL
SELECT intermediary_id, intermediary_id FROM intermediaries;

-- The accounts whose features are computed: all of them, unless a partitioned extraction
-- narrows it to one hash partition (pipeline/featurize.py) before the shared tables are
-- built. Per-account tables and rows follow it; what counts other accounts does not.
CREATE OR REPLACE TEMP TABLE account_scope AS SELECT account_key FROM account_keys;

-- The logins of the accounts in scope that a 90-day window can reach, each with the set of
-- snapshots whose windows hold its day (day_snapshots_90d): what the login sightings and
-- the login counts are grouped from.
CREATE OR REPLACE TEMP VIEW logins_90d AS
SELECT k.account_key, d.chunk, d.snapshots, e.ts, e.device_id, e.ip
FROM device_events e
JOIN account_keys k ON k.id_hash = hash(e.account_id)
SEMI JOIN account_scope USING (account_key)
JOIN day_snapshots_90d d ON d.day = utc_day(e.ts)
WHERE within_reach(e.ts, 90);

-- The rows of each entity type: one per entity and snapshot at which it exists. Families
-- return one row per row here, keyed by `entity_key` (pipeline/featurize.py keeps them in
-- the order of these rows and lines them up side by side). The accounts' rows (fifteen
-- million at a million accounts and 12 snapshots) are stored once, as table
-- `account_snapshots` (keys and the day of opening only, in row order), by
-- pipeline/featurize.py once the scope is set: each family reads them instead of crossing
-- the accounts with the snapshots again, and joins its per-account rows to them on the
-- integer key. The intermediaries' rows are few, and carry the id their families join on.
CREATE OR REPLACE TEMP VIEW account_snapshots_in_scope AS
SELECT k.account_key AS entity_key, s.snapshot_date, utc_day(a.opened_at) AS opened_day
FROM accounts a JOIN account_keys k USING (account_id) SEMI JOIN account_scope USING (account_key)
CROSS JOIN snapshots s
WHERE a.opened_at IS NULL OR a.opened_at < s.snapshot_date;

-- Each entity's id by its key: what the rows of a features file are named by.
CREATE OR REPLACE TEMP VIEW account_ids AS
SELECT account_key AS entity_key, account_id AS entity_id FROM account_keys;

CREATE OR REPLACE TEMP VIEW intermediary_ids AS
SELECT intermediary_key AS entity_key, intermediary_id AS entity_id FROM intermediary_keys;

CREATE OR REPLACE TEMP VIEW intermediary_snapshots AS
SELECT i.intermediary_id AS entity_id, k.intermediary_key AS entity_key, s.snapshot_date
FROM intermediaries i JOIN intermediary_keys k USING (intermediary_id) CROSS JOIN snapshots s
WHERE i.registered_at IS NULL OR i.registered_at < s.snapshot_date;
