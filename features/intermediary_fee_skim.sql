-- Hidden fees: clients paying the intermediary, or accounts registered with its phone,
-- within 14 days after their loan was disbursed (loans disbursed in the last 180 days).
WITH disbursed AS (
    SELECT l.loan_id, l.intermediary_id, l.account_id, l.amount, l.disbursed_at, s.snapshot_date
    FROM loans l
    JOIN snapshots s
      ON l.disbursed_at < s.snapshot_date
     AND l.disbursed_at >= s.snapshot_date - INTERVAL 180 DAY
    WHERE l.intermediary_id IS NOT NULL
),
fees AS (
    SELECT d.loan_id, d.snapshot_date, sum(t.amount) AS fee_paid
    FROM disbursed d
    JOIN intermediary_receivers k ON k.intermediary_id = d.intermediary_id
    JOIN transactions t
      ON t.src_id = d.account_id
     AND t.dst_id = k.receiver
     AND t.ts >= d.disbursed_at
     AND t.ts < d.disbursed_at + INTERVAL 14 DAY
     AND t.ts < d.snapshot_date
    GROUP BY ALL
),
per_intermediary AS (
    SELECT
        d.intermediary_id,
        d.snapshot_date,
        avg(CASE WHEN f.fee_paid > 0 THEN 1.0 ELSE 0.0 END) AS fee_payer_share_180d,
        coalesce(sum(f.fee_paid), 0) / sum(d.amount) AS fee_to_loan_ratio_180d
    FROM disbursed d
    LEFT JOIN fees f USING (loan_id, snapshot_date)
    GROUP BY ALL
)
SELECT
    u.entity_id,
    u.snapshot_date,
    p.fee_payer_share_180d,
    p.fee_to_loan_ratio_180d
FROM intermediary_snapshots u
LEFT JOIN per_intermediary p
  ON p.intermediary_id = u.entity_id AND p.snapshot_date = u.snapshot_date
