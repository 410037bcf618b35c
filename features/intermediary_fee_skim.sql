-- Hidden fees: clients paying the intermediary, or accounts registered with its phone,
-- within 14 days after their loan was disbursed (loans disbursed in the last 180 days);
-- and clients paying one same customer account soon after their loans, the way fees reach
-- collectors the intermediary hides behind other people's names.
WITH disbursed AS (
    SELECT l.loan_id, l.intermediary_id, l.account_id, l.amount, l.disbursed_at, s.snapshot_date
    FROM loans l
    JOIN snapshots s
      ON l.disbursed_at < s.snapshot_date
     AND l.disbursed_at >= s.snapshot_date - INTERVAL 180 DAY
    WHERE l.intermediary_id IS NOT NULL
),
-- Payments by clients in the 14 days after their loan was disbursed, before the cut-off:
-- one scan of the payments serves both the fees and the common payees below.
after_loan AS (
    SELECT d.loan_id, d.intermediary_id, d.snapshot_date, d.account_id, t.dst_id, t.amount
    FROM disbursed d
    JOIN watched_payments_180d t
      ON t.src_id = d.account_id
     AND t.ts >= d.disbursed_at
     AND t.ts < d.disbursed_at + INTERVAL 14 DAY
     AND t.ts < d.snapshot_date
),
fees AS (
    SELECT a.loan_id, a.snapshot_date, sum(a.amount) AS fee_paid
    FROM after_loan a
    JOIN intermediary_receivers k
      ON k.intermediary_id = a.intermediary_id AND k.receiver = a.dst_id
    GROUP BY ALL
),
paid_after_loan AS (
    SELECT DISTINCT a.intermediary_id, a.snapshot_date, a.account_id, a.dst_id AS payee
    FROM after_loan a
    JOIN account_keys k ON k.account_id = a.dst_id
),
-- Customer accounts that three or more of the intermediary's clients paid that way.
common_payees AS (
    SELECT intermediary_id, snapshot_date, payee
    FROM paid_after_loan
    GROUP BY ALL
    HAVING count(DISTINCT account_id) >= 3
),
clients_paying_common AS (
    SELECT intermediary_id, snapshot_date, count(DISTINCT account_id) AS clients
    FROM paid_after_loan
    JOIN common_payees USING (intermediary_id, snapshot_date, payee)
    GROUP BY ALL
),
per_intermediary AS (
    SELECT
        d.intermediary_id,
        d.snapshot_date,
        avg(CASE WHEN f.fee_paid > 0 THEN 1.0 ELSE 0.0 END) AS fee_payer_share_180d,
        coalesce(sum(f.fee_paid), 0) / sum(d.amount) AS fee_to_loan_ratio_180d,
        count(DISTINCT d.account_id) AS clients
    FROM disbursed d
    LEFT JOIN fees f USING (loan_id, snapshot_date)
    GROUP BY ALL
)
SELECT
    u.entity_key,
    u.snapshot_date,
    p.fee_payer_share_180d,
    p.fee_to_loan_ratio_180d,
    coalesce(c.clients, 0) / p.clients AS clients_paying_common_account_share_180d
FROM intermediary_snapshots u
LEFT JOIN per_intermediary p
  ON p.intermediary_id = u.entity_id AND p.snapshot_date = u.snapshot_date
LEFT JOIN clients_paying_common c
  ON c.intermediary_id = u.entity_id AND c.snapshot_date = u.snapshot_date
