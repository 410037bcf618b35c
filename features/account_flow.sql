-- Where an account's money comes from, where it goes, and how long it stays (last 30 days).
WITH incoming AS (
    SELECT account_id, ts, amount FROM account_flows WHERE direction = 'in'
),
outgoing AS (
    SELECT account_id, ts FROM account_flows WHERE direction = 'out'
),
-- For each incoming payment, the account's first outgoing payment at or after it. If that
-- payment is after the cut-off, nothing was forwarded before it: the check below holds.
forwarded AS (
    SELECT i.account_id, i.ts, i.amount, o.ts AS next_out_ts
    FROM incoming i
    ASOF LEFT JOIN outgoing o ON i.account_id = o.account_id AND o.ts >= i.ts
),
per_account AS (
    SELECT
        account_id,
        snapshot_date,
        count(DISTINCT counterparty) FILTER (WHERE direction = 'in') AS distinct_payers_30d,
        count(DISTINCT counterparty) FILTER (WHERE direction = 'out') AS distinct_payees_30d,
        sum(amount) FILTER (WHERE direction = 'out')
            / nullif(sum(amount) FILTER (WHERE direction = 'in'), 0) AS pass_through_ratio_30d
    FROM account_flows_30d
    GROUP BY ALL
),
holding AS (
    SELECT
        f.account_id,
        s.snapshot_date,
        sum(f.amount) FILTER (
            WHERE f.next_out_ts < s.snapshot_date
              AND f.next_out_ts <= f.ts + INTERVAL 24 HOUR
        ) / sum(f.amount) AS share_in_forwarded_24h_30d,
        median(date_diff('minute', f.ts, f.next_out_ts) / 60.0) FILTER (
            WHERE f.next_out_ts < s.snapshot_date
        ) AS median_hours_to_forward_30d
    FROM forwarded f
    JOIN snapshots s
      ON f.ts < s.snapshot_date AND f.ts >= s.snapshot_date - INTERVAL 30 DAY
    GROUP BY ALL
)
SELECT
    u.entity_id,
    u.snapshot_date,
    coalesce(p.distinct_payers_30d, 0) AS distinct_payers_30d,
    coalesce(p.distinct_payees_30d, 0) AS distinct_payees_30d,
    -- Capped so one tiny inflow cannot dominate; NULL (nothing received) stays NULL.
    CASE WHEN p.pass_through_ratio_30d > 10 THEN 10 ELSE p.pass_through_ratio_30d END
        AS pass_through_ratio_30d,
    coalesce(h.share_in_forwarded_24h_30d, 0) AS share_in_forwarded_24h_30d,
    h.median_hours_to_forward_30d
FROM account_snapshots u
LEFT JOIN per_account p ON p.account_id = u.entity_id AND p.snapshot_date = u.snapshot_date
LEFT JOIN holding h ON h.account_id = u.entity_id AND h.snapshot_date = u.snapshot_date
