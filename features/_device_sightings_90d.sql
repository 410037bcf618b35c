-- Each account's devices and network addresses seen at login (kind 'device' or 'ip', value a
-- 64-bit hash: cheap to group, collisions negligible) in the 90 days before each snapshot,
-- for the accounts in scope: one row per value and chunk of snapshots (_views.sql), with the
-- snapshots whose windows saw it as bits. An account logs in from the same few devices and
-- addresses month after month, so a row per value and snapshot repeats most of them in
-- three windows: at a million accounts and 12 snapshots, 13 M rows here against 57 M, from
-- a grouping of the logins into far fewer groups. Since each row is a distinct device or
-- address of its account, what follows counts rows instead of distinct values.
CREATE OR REPLACE TABLE device_sightings_90d AS
WITH logins AS (
    SELECT
        account_key,
        chunk,
        snapshots,
        hash(device_id) AS device,
        CASE WHEN ip IS NOT NULL THEN hash(ip) END AS ip
    FROM logins_90d
)
-- Both groupings in one pass over the logins.
SELECT
    account_key,
    chunk,
    CAST(CASE WHEN grouping(device) = 0 THEN 'device' ELSE 'ip' END AS sighting_kind) AS kind,
    coalesce(device, ip) AS value,
    bit_or(snapshots) AS snapshots
FROM logins
GROUP BY GROUPING SETS ((account_key, chunk, device), (account_key, chunk, ip))
HAVING grouping(ip) = 1 OR ip IS NOT NULL;
