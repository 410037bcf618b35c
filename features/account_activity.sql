-- How much, how often and when an account moves money (last 30 days).
WITH per_account AS (
    SELECT
        account_id,
        snapshot_date,
        count(*) AS txn_count_30d,
        sum(amount) FILTER (WHERE direction = 'in') AS amount_in_30d,
        sum(amount) FILTER (WHERE direction = 'out') AS amount_out_30d,
        avg(CASE WHEN hour(ts) < 5 THEN 1.0 ELSE 0.0 END) AS night_txn_share_30d,
        count(DISTINCT date_trunc('day', ts)) AS active_days_30d
    FROM account_flows_30d
    GROUP BY ALL
),
busiest_hour AS (
    SELECT account_id, snapshot_date, max(n) AS max_txns_one_hour_30d
    FROM (
        SELECT account_id, snapshot_date, date_trunc('hour', ts) AS hour_start, count(*) AS n
        FROM account_flows_30d
        GROUP BY ALL
    )
    GROUP BY ALL
)
SELECT
    u.entity_id,
    u.snapshot_date,
    date_diff('day', a.opened_at, u.snapshot_date) AS account_age_days,
    coalesce(p.txn_count_30d, 0) AS txn_count_30d,
    coalesce(p.amount_in_30d, 0) AS amount_in_30d,
    coalesce(p.amount_out_30d, 0) AS amount_out_30d,
    p.night_txn_share_30d,
    coalesce(p.active_days_30d, 0) AS active_days_30d,
    coalesce(b.max_txns_one_hour_30d, 0) AS max_txns_one_hour_30d
FROM account_snapshots u
JOIN accounts a ON a.account_id = u.entity_id
LEFT JOIN per_account p ON p.account_id = u.entity_id AND p.snapshot_date = u.snapshot_date
LEFT JOIN busiest_hour b ON b.account_id = u.entity_id AND b.snapshot_date = u.snapshot_date
