-- Each account's logins per device and per network address (kind 'device' or 'ip', value a
-- 64-bit hash: cheap to group, collisions negligible) in the 90 days before each snapshot,
-- for the accounts in scope. An account logs in from the same few devices and addresses
-- again and again, so one row per value and snapshot makes what follows small; and since
-- each row is a distinct device or address of its account, what follows counts rows
-- instead of distinct values.
CREATE OR REPLACE TABLE device_sightings_90d AS
WITH logins AS (
    SELECT
        k.account_key,
        d.snapshot_date,
        hash(e.device_id) AS device,
        CASE WHEN e.ip IS NOT NULL THEN hash(e.ip) END AS ip,
        utc_hour(e.ts) < 5 AS at_night
    FROM device_events e
    JOIN account_keys k USING (account_id)
    SEMI JOIN account_scope USING (account_key)
    JOIN snapshot_days d ON d.day = utc_day(e.ts)
    WHERE within_reach(e.ts, 90)
)
-- Both groupings in one pass over the logins; every login is in exactly one device row.
SELECT
    account_key,
    snapshot_date,
    CAST(CASE WHEN grouping(device) = 0 THEN 'device' ELSE 'ip' END AS sighting_kind) AS kind,
    coalesce(device, ip) AS value,
    -- Narrow columns: at a million accounts this table holds ~60 M rows.
    CAST(count(*) AS INTEGER) AS logins,
    CAST(count(*) FILTER (WHERE at_night) AS INTEGER) AS night_logins
FROM logins
GROUP BY GROUPING SETS ((account_key, snapshot_date, device), (account_key, snapshot_date, ip))
HAVING grouping(ip) = 1 OR ip IS NOT NULL;
