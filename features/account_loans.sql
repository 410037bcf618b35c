-- Loans an account applied for and money it received from fresh borrowers.
WITH peer_income AS (
    -- The typical stated income of everyone who applied before the cut-off.
    SELECT s.snapshot_date, median(l.stated_income) AS median_stated_income
    FROM loans l
    JOIN snapshots s ON l.applied_at < s.snapshot_date
    GROUP BY ALL
),
applications AS (
    SELECT
        k.account_key,
        s.snapshot_date,
        count(*) AS loans_applied_180d,
        avg(CASE WHEN l.intermediary_id IS NOT NULL THEN 1.0 ELSE 0.0 END)
            AS referred_loan_share_180d,
        max(l.stated_income) / any_value(p.median_stated_income) AS stated_income_to_peers,
        count(*) FILTER (WHERE l.defaulted_at < s.snapshot_date) AS loans_defaulted_180d
    FROM loans l
    JOIN account_keys k USING (account_id)
    JOIN snapshots s
      ON l.applied_at < s.snapshot_date AND l.applied_at >= s.snapshot_date - INTERVAL 180 DAY
    JOIN peer_income p ON p.snapshot_date = s.snapshot_date
    GROUP BY ALL
),
-- Payments received from accounts whose loan was disbursed in the 7 days before.
from_borrowers AS (
    SELECT
        f.account_key,
        f.snapshot_date,
        count(DISTINCT f.counterparty) AS payers_with_new_loan_30d
    FROM account_flows_30d f
    JOIN loans l
      ON hash(l.account_id) = f.counterparty
     AND epoch_us(l.disbursed_at) <= f.ts_us
     AND f.ts_us < epoch_us(l.disbursed_at) + 7 * 86400000000
    WHERE f.incoming
    GROUP BY ALL
)
SELECT
    u.entity_key,
    u.snapshot_date,
    coalesce(a.loans_applied_180d, 0) AS loans_applied_180d,
    a.referred_loan_share_180d,
    a.stated_income_to_peers,
    coalesce(a.loans_defaulted_180d, 0) AS loans_defaulted_180d,
    coalesce(b.payers_with_new_loan_30d, 0) AS payers_with_new_loan_30d
FROM account_snapshots u
LEFT JOIN applications a ON a.account_key = u.entity_key AND a.snapshot_date = u.snapshot_date
LEFT JOIN from_borrowers b ON b.account_key = u.entity_key AND b.snapshot_date = u.snapshot_date
