-- Each account's logins per device and network address (64-bit hashes: cheap to group,
-- collisions negligible) in the 90 days before each snapshot, for the accounts in scope.
-- An account logs in from the
-- same few pairs again and again, so one row per pair and snapshot makes what follows small.
CREATE OR REPLACE TEMP TABLE device_sightings_90d AS
SELECT
    k.account_key,
    d.snapshot_date,
    hash(e.device_id) AS device,
    CASE WHEN e.ip IS NOT NULL THEN hash(e.ip) END AS ip,
    count(*) AS logins,
    count(*) FILTER (WHERE utc_hour(e.ts) < 5) AS night_logins
FROM device_events e
JOIN account_keys k USING (account_id)
SEMI JOIN account_scope USING (account_key)
JOIN snapshot_days d ON d.day = utc_day(e.ts)
WHERE e.ts >= (SELECT min(snapshot_date) FROM snapshots) - INTERVAL 90 DAY
  AND e.ts < (SELECT max(snapshot_date) FROM snapshots)
GROUP BY ALL;
