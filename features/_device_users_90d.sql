-- How many accounts logged in from each device and network address (kind and value as in
-- device_sightings_90d) in the 90 days before each snapshot, for those shared by more than
-- one account: most are not, and keeping only these makes the join with them cheap (any
-- other was used by its one account alone). Counted over every account:
-- a partitioned extraction computes it once, over all partitions, and each partition
-- reads it (pipeline/featurize.py).
CREATE OR REPLACE TABLE device_users_90d AS
SELECT snapshot_date, kind, value, count(*) AS accounts
FROM device_sightings_90d
GROUP BY ALL
HAVING count(*) > 1;
