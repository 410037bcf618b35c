-- The payments the families on refunds and fees follow, in reach of a 180-day window:
-- those into an intermediary or an account on its phone (intermediary_receivers), and those
-- out of an account in the 14 days after a loan an intermediary brokered was disbursed to
-- it or after a policy of its person was surrendered (the families check which: here, from
-- the first such event of the account to 14 days after its last). One read of the payments
-- for `account_policies` and three intermediary families instead of one each: a few
-- million rows of the ~80 M in reach.
CREATE OR REPLACE TABLE watched_payments_180d AS
WITH events AS (
    SELECT account_id, disbursed_at AS happened_at FROM loans
    WHERE intermediary_id IS NOT NULL AND disbursed_at IS NOT NULL
    UNION ALL
    SELECT own.account_id, p.surrendered_at
    FROM policies p
    JOIN account_persons holder ON holder.account_id = p.account_id
    JOIN account_persons own ON own.person_id = holder.person_id
    WHERE p.surrendered_at IS NOT NULL
),
senders AS (
    SELECT account_id, min(happened_at) AS since, max(happened_at) + INTERVAL 14 DAY AS until
    FROM events
    GROUP BY account_id
),
receivers AS (
    SELECT DISTINCT receiver FROM intermediary_receivers
)
SELECT t.ts, t.src_id, t.dst_id, t.amount
FROM payments_within(180) t
LEFT JOIN receivers r ON r.receiver = t.dst_id
LEFT JOIN senders s ON s.account_id = t.src_id
WHERE r.receiver IS NOT NULL OR (t.ts >= s.since AND t.ts < s.until);
