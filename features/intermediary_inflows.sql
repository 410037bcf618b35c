-- Money paid to the intermediary itself or to accounts registered with its phone
-- (last 90 days): where hidden fees, kickbacks and "service" fees land.
WITH received AS (
    SELECT k.intermediary_id, s.snapshot_date, t.src_id, t.amount, t.dst_id
    FROM watched_payments_180d t
    JOIN intermediary_receivers k ON k.receiver = t.dst_id
    JOIN snapshot_days s ON s.day = utc_day(t.ts)
)
SELECT
    u.entity_key,
    u.snapshot_date,
    coalesce(count(DISTINCT r.src_id), 0) AS distinct_payers_to_it_90d,
    coalesce(sum(r.amount), 0) AS amount_paid_to_it_90d,
    coalesce(count(DISTINCT r.dst_id) FILTER (WHERE r.dst_id <> u.entity_id), 0)
        AS phone_linked_accounts_paid_90d
FROM intermediary_snapshots u
LEFT JOIN received r ON r.intermediary_id = u.entity_id AND r.snapshot_date = u.snapshot_date
GROUP BY u.entity_key, u.snapshot_date, u.entity_id
