-- How many accounts logged in from each device and network address (kind 'device' or
-- 'ip', 64-bit hashes) in the 90 days before each snapshot. Counted over every account:
-- a partitioned extraction computes it once, over all partitions, and each partition
-- reads it (pipeline/featurize.py). Grouping twice counts distinct accounts several times
-- faster than count(DISTINCT), which keeps a hash set per group.
CREATE OR REPLACE TEMP TABLE device_users_90d AS
SELECT snapshot_date, 'device' AS kind, device AS value, count(*) AS accounts
FROM (SELECT DISTINCT snapshot_date, device, account_key FROM device_sightings_90d)
GROUP BY ALL
UNION ALL
SELECT snapshot_date, 'ip', ip, count(*)
FROM (SELECT DISTINCT snapshot_date, ip, account_key FROM device_sightings_90d WHERE ip IS NOT NULL)
GROUP BY ALL;
