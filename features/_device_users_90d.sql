-- How many accounts logged in from each device and network address (kind and value as in
-- device_sightings_90d) in the 90 days before each snapshot, for those shared by more than
-- one account: most are not, and keeping only these makes the join with them cheap (any
-- other was used by its one account alone). Only values two accounts ever share within a
-- chunk of snapshots are unfolded into their snapshots. Counted over every account:
-- a partitioned extraction computes it once, over all partitions, and each partition
-- reads it (pipeline/featurize.py).
CREATE OR REPLACE TABLE device_users_90d AS
WITH shared_in_chunk AS (
    SELECT chunk, kind, value FROM device_sightings_90d GROUP BY ALL HAVING count(*) > 1
)
SELECT b.snapshot_date, s.kind, s.value, count(*) AS accounts
FROM device_sightings_90d s
SEMI JOIN shared_in_chunk USING (chunk, kind, value)
JOIN snapshot_bits b ON b.chunk = s.chunk AND holds(s.snapshots, b.bit)
GROUP BY ALL
HAVING count(*) > 1;
