-- Each account's devices and network addresses (kind 'device' or 'ip', value a 64-bit hash:
-- cheap to group, collisions negligible) seen in its logins in the 90 days before each
-- snapshot, for the accounts in scope: one row per value and snapshot. An account logs in
-- from the same few devices again and again, so what follows is small; and since each row
-- is a distinct device or address of its account, what follows counts rows instead of
-- distinct values. The device rows count the logins (every login has a device, so they
-- hold each login once); the address rows only say the address was seen.
CREATE OR REPLACE TABLE device_sightings_90d AS
WITH logins AS (
    SELECT k.account_key, e.ts, e.device_id, e.ip
    FROM device_events e
    JOIN account_keys k USING (account_id)
    SEMI JOIN account_scope USING (account_key)
    WHERE within_reach(e.ts, 90)
),
devices AS (
    SELECT
        l.account_key,
        d.snapshot_date,
        hash(l.device_id) AS value,
        count(*) AS logins,
        count(*) FILTER (WHERE utc_hour(l.ts) < 5) AS night_logins
    FROM logins l
    JOIN snapshot_days d ON d.day = utc_day(l.ts)
    GROUP BY ALL
),
-- Addresses change far more than devices (most are seen once), so assigning each login to
-- its three or so snapshots first and then grouping would group three rows per login.
-- Instead each snapshot is a bit (64 to a block) and each day the set of snapshots whose
-- windows hold it: an account's address is grouped once, its snapshots the OR of its
-- logins' sets, then spread to one row per snapshot. A fifth faster at 170k.
snapshot_bits AS (
    SELECT snapshot_date, CAST(row_number() OVER (ORDER BY snapshot_date) - 1 AS INTEGER) AS bit
    FROM snapshots
),
day_snapshot_sets AS (
    SELECT d.day, b.bit // 64 AS block, bit_or(CAST(1 AS UBIGINT) << (b.bit % 64)) AS snapshot_set
    FROM snapshot_days d
    JOIN snapshot_bits b USING (snapshot_date)
    GROUP BY ALL
),
addresses AS (
    SELECT l.account_key, s.block, hash(l.ip) AS value, bit_or(s.snapshot_set) AS snapshot_set
    FROM logins l
    JOIN day_snapshot_sets s ON s.day = utc_day(l.ts)
    WHERE l.ip IS NOT NULL
    GROUP BY ALL
)
SELECT account_key, snapshot_date, 'device' AS kind, value, logins, night_logins FROM devices
UNION ALL
SELECT a.account_key, b.snapshot_date, 'ip', a.value, NULL, NULL
FROM addresses a
JOIN snapshot_bits b
  ON b.bit // 64 = a.block AND (a.snapshot_set >> (b.bit % 64)) & 1 = 1;
