-- Money paid to the intermediary itself or to accounts registered with its phone
-- (last 90 days): where hidden fees, kickbacks and "service" fees land.
-- A payer's payments to one receiver are summed per day before the days are assigned to
-- snapshots (a 90-day window holds each day for three monthly snapshots), and payers and
-- receivers are told apart by the 64-bit hash of their ids (collisions negligible), cheaper
-- to count than the text: at a million accounts, 2.2 s against 4.3 s.
WITH received AS (
    SELECT k.intermediary_id, utc_day(t.ts) AS day, hash(t.src_id) AS payer,
           hash(t.dst_id) AS receiver, t.dst_id <> k.intermediary_id AS phone_linked,
           sum(t.amount) AS amount
    FROM watched_payments_180d t
    JOIN intermediary_receivers k ON k.receiver = t.dst_id
    GROUP BY ALL
),
per_intermediary AS (
    SELECT
        r.intermediary_id,
        s.snapshot_date,
        count(DISTINCT r.payer) AS distinct_payers_to_it_90d,
        sum(r.amount) AS amount_paid_to_it_90d,
        count(DISTINCT r.receiver) FILTER (WHERE r.phone_linked) AS phone_linked_accounts_paid_90d
    FROM received r
    JOIN snapshot_days s USING (day)
    GROUP BY ALL
)
SELECT
    u.entity_key,
    u.snapshot_date,
    coalesce(p.distinct_payers_to_it_90d, 0) AS distinct_payers_to_it_90d,
    coalesce(p.amount_paid_to_it_90d, 0) AS amount_paid_to_it_90d,
    coalesce(p.phone_linked_accounts_paid_90d, 0) AS phone_linked_accounts_paid_90d
FROM intermediary_snapshots u
LEFT JOIN per_intermediary p
  ON p.intermediary_id = u.entity_id AND p.snapshot_date = u.snapshot_date
