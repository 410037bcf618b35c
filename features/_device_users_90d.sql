-- How many accounts logged in from each device and network address (kind 'device' or
-- 'ip', 64-bit hashes) in the 90 days before each snapshot. Counted over every account:
-- a partitioned extraction computes it once, over all partitions, and each partition
-- reads it (pipeline/featurize.py).
CREATE OR REPLACE TEMP TABLE device_users_90d AS
SELECT snapshot_date, 'device' AS kind, device AS value, count(DISTINCT account_key) AS accounts
FROM device_sightings_90d
GROUP BY ALL
UNION ALL
SELECT snapshot_date, 'ip', ip, count(DISTINCT account_key)
FROM device_sightings_90d
WHERE ip IS NOT NULL
GROUP BY ALL;
