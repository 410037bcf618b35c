-- The policies an agent sold and how they end: surrenders, bunched in time, with part of
-- the refund paid back to the agent or to accounts registered with its phone.
WITH sold AS (
    SELECT p.*, s.snapshot_date
    FROM policies p
    JOIN snapshots s ON p.issued_at < s.snapshot_date
    WHERE p.intermediary_id IS NOT NULL
      AND NOT coalesce(p.surrendered_at < s.snapshot_date - INTERVAL 365 DAY, false)
),
-- What the surrendering holder's accounts (any institution) paid the agent within 14 days.
paid_back AS (
    SELECT d.policy_id, d.snapshot_date, sum(t.amount) AS paid
    FROM sold d
    JOIN account_persons holder ON holder.account_id = d.account_id
    JOIN account_persons own ON own.person_id = holder.person_id
    JOIN intermediary_receivers k ON k.intermediary_id = d.intermediary_id
    JOIN watched_payments_180d t
      ON t.src_id = own.account_id
     AND t.dst_id = k.receiver
     AND t.ts >= d.surrendered_at
     AND t.ts < d.surrendered_at + INTERVAL 14 DAY
     AND t.ts < d.snapshot_date
    WHERE d.surrendered_at >= d.snapshot_date - INTERVAL 180 DAY
      AND d.surrendered_at < d.snapshot_date
    GROUP BY ALL
),
weekly AS (
    SELECT intermediary_id, snapshot_date, max(n) AS max_surrenders_one_week_90d
    FROM (
        SELECT intermediary_id, snapshot_date, date_trunc('week', surrendered_at), count(*) AS n
        FROM sold
        WHERE surrendered_at < snapshot_date
          AND surrendered_at >= snapshot_date - INTERVAL 90 DAY
        GROUP BY ALL
    )
    GROUP BY ALL
),
per_intermediary AS (
    SELECT
        d.intermediary_id,
        d.snapshot_date,
        count(*) FILTER (WHERE d.issued_at >= d.snapshot_date - INTERVAL 365 DAY)
            AS policies_sold_365d,
        avg(CASE WHEN d.surrendered_at < d.snapshot_date THEN 1.0 ELSE 0.0 END)
            AS client_surrender_rate_365d,
        coalesce(sum(b.paid), 0)
            / nullif(sum(d.refund_amount) FILTER (
                WHERE d.surrendered_at >= d.snapshot_date - INTERVAL 180 DAY
                  AND d.surrendered_at < d.snapshot_date), 0)
            AS refund_paid_back_share_180d
    FROM sold d
    LEFT JOIN paid_back b USING (policy_id, snapshot_date)
    GROUP BY ALL
)
SELECT
    u.entity_key,
    u.snapshot_date,
    coalesce(p.policies_sold_365d, 0) AS policies_sold_365d,
    p.client_surrender_rate_365d,
    coalesce(w.max_surrenders_one_week_90d, 0) AS max_surrenders_one_week_90d,
    capped(p.refund_paid_back_share_180d, 1) AS refund_paid_back_share_180d
FROM intermediary_snapshots u
LEFT JOIN per_intermediary p
  ON p.intermediary_id = u.entity_id AND p.snapshot_date = u.snapshot_date
LEFT JOIN weekly w ON w.intermediary_id = u.entity_id AND w.snapshot_date = u.snapshot_date
