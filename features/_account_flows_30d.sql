-- Each payment seen once from each side that is a customer account, with the account's
-- next payment out (at or after this one: how long incoming money stays) and its
-- number of payments in the hour up to this one (bursts; of several at one instant, the
-- last counts them all), in the 30 days before each snapshot, for the accounts in scope.
-- Both windows share one sort of the account's payments. The other side is kept as a
-- 64-bit hash, enough to count distinct counterparties.
-- Payments are read from a day before the earliest window: the hour up to a payment at the
-- start of a window then holds the payments just before it whichever snapshots are computed
-- together (a scoring snapshot alone gets the features it would get in training).
CREATE OR REPLACE TABLE account_flows_30d AS
WITH scoped AS (
    SELECT k.id_hash, k.account_key FROM account_keys k SEMI JOIN account_scope USING (account_key)
),
payments AS (
    SELECT ts, amount, hash(src_id) AS payer, hash(dst_id) AS payee FROM payments_within(31)
),
-- Both sides from one read of the payments (each payment paired with both values of
-- `incoming`): a UNION ALL of two joins decoded the Parquet file twice.
sides AS (
    SELECT k.account_key, epoch_us(p.ts) AS ts_us, p.amount, s.incoming,
           CASE WHEN s.incoming THEN p.payer ELSE p.payee END AS counterparty
    FROM payments p
    CROSS JOIN (VALUES (false), (true)) AS s(incoming)
    JOIN scoped k ON k.id_hash = CASE WHEN s.incoming THEN p.payee ELSE p.payer END
),
-- Time in microseconds since the epoch (`ts_us`, kept so in the table): integer arithmetic,
-- where the same on TIMESTAMPTZ goes through the ICU calendar at several times the cost per
-- payment, and the one time value the window sorts and carries (with the timestamp beside
-- it, 0.2 to 0.35 s more of the window's 5 s of CPU at 170k).
forwarding AS (
    SELECT
        *,
        -- RANGE frames include payments at the same instant: "at or after this one". The
        -- first payment out in time order is the earliest; first_value skips the payments in
        -- cheaply, where min() would keep a segment tree.
        first_value(CASE WHEN NOT incoming THEN ts_us END IGNORE NULLS) OVER (
            PARTITION BY account_key ORDER BY ts_us
            RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING
        ) AS next_out_us,
        -- The payment's place among those of the hour up to it: their count, where
        -- payments at one instant count those before them, and the last all of them, so
        -- the most per account and snapshot, all a family takes, is the count's. DuckDB
        -- reads it off the frame's bounds; count(*) built a segment tree for it (at 170k,
        -- 0.75 s more CPU in a window of 5 s).
        row_number(ORDER BY ts_us) OVER (
            PARTITION BY account_key ORDER BY ts_us
            RANGE BETWEEN 3600000000 PRECEDING AND CURRENT ROW
        ) AS txns_past_hour
    FROM sides
)
-- Narrow columns: at a million accounts this table holds ~100 M rows, and every byte less
-- keeps more of it in memory instead of DuckDB's spill files.
SELECT
    f.account_key,
    f.ts_us,
    f.amount,
    f.incoming,
    f.counterparty,
    CAST(f.txns_past_hour AS INTEGER) AS txns_past_hour,
    d.snapshot_date,
    CAST(d.days_before AS UTINYINT) AS days_before,
    -- For money in that went out again before the cut-off: after how many minutes (clock
    -- minutes crossed, as date_diff counts them), and whether within 24 hours.
    CAST(CASE WHEN f.incoming AND f.next_out_us < epoch_us(d.snapshot_date)
         THEN f.next_out_us // 60000000 - f.ts_us // 60000000 END AS INTEGER)
        AS minutes_to_forward,
    f.incoming AND f.next_out_us < epoch_us(d.snapshot_date)
        AND f.next_out_us - f.ts_us <= 86400000000 AS forwarded_24h
FROM forwarding f
JOIN snapshot_days d ON d.day = utc_day_of_us(f.ts_us) AND d.days_before <= 30;
