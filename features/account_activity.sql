-- How much, how often and when an account moves money (last 7 and 30 days).
WITH per_account AS (
    SELECT
        account_key,
        snapshot_date,
        count(*) AS txn_count_30d,
        count(*) FILTER (WHERE days_before <= 7) AS txn_count_7d,
        sum(amount) FILTER (WHERE incoming) AS amount_in_30d,
        sum(amount) FILTER (WHERE NOT incoming) AS amount_out_30d,
        count(*) FILTER (WHERE utc_hour_of_us(ts_us) < 5) / count(*) AS night_txn_share_30d,
        -- Days as bits of one integer: count(DISTINCT) would keep a hash set per group.
        bit_count(bit_or(CAST(1 AS UBIGINT) << days_before)) AS active_days_30d,
        max(txns_past_hour) AS max_txns_one_hour_30d
    FROM account_flows_30d
    GROUP BY ALL
)
SELECT
    u.entity_key,
    u.snapshot_date,
    utc_day(u.snapshot_date) - u.opened_day AS account_age_days,
    coalesce(p.txn_count_30d, 0) AS txn_count_30d,
    coalesce(p.amount_in_30d, 0) AS amount_in_30d,
    coalesce(p.amount_out_30d, 0) AS amount_out_30d,
    coalesce(p.txn_count_7d, 0) AS txn_count_7d,
    p.night_txn_share_30d,
    coalesce(p.active_days_30d, 0) AS active_days_30d,
    coalesce(p.max_txns_one_hour_30d, 0) AS max_txns_one_hour_30d
FROM account_snapshots u
LEFT JOIN per_account p ON p.account_key = u.entity_key AND p.snapshot_date = u.snapshot_date
