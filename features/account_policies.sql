-- Insurance surrenders and where the refund goes, per person (account_persons): a policy
-- at the insurer meets the refund at the bank.
WITH held AS (
    SELECT pe.person_id, p.issued_at, p.surrendered_at, p.refund_amount
    FROM policies p
    JOIN account_persons pe USING (account_id)
),
-- The accounts (any institution) of holders who surrendered, and when: small, so the
-- payments below only probe it (watched_payments_180d holds those that can follow a
-- surrender).
surrendering AS (
    SELECT DISTINCT pe.account_id, h.person_id, h.surrendered_at
    FROM held h
    JOIN account_persons pe USING (person_id)
    WHERE h.surrendered_at IS NOT NULL
),
-- Transfers to another person's account within 14 days after the sender surrendered a
-- policy: the refund arrives within days and an incited holder pays the agent's share.
-- A semi join keeps each payment once however many surrenders it follows.
refund_transfers AS (
    SELECT t.ts, t.amount, src.person_id AS sender, t.dst_id AS receiver
    FROM watched_payments_180d t
    SEMI JOIN surrendering s
      ON s.account_id = t.src_id
     AND t.ts >= s.surrendered_at
     AND t.ts < s.surrendered_at + INTERVAL 14 DAY
    JOIN account_persons src ON src.account_id = t.src_id
    JOIN account_persons dst ON dst.account_id = t.dst_id AND dst.person_id <> src.person_id
),
per_person AS (
    SELECT
        h.person_id,
        s.snapshot_date,
        count(*) FILTER (WHERE h.issued_at < s.snapshot_date
                           AND NOT coalesce(h.surrendered_at < s.snapshot_date, false))
            AS policies_in_force,
        count(*) FILTER (WHERE h.surrendered_at < s.snapshot_date
                           AND h.surrendered_at >= s.snapshot_date - INTERVAL 90 DAY)
            AS surrenders_90d,
        sum(h.refund_amount) FILTER (WHERE h.surrendered_at < s.snapshot_date
                                       AND h.surrendered_at >= s.snapshot_date - INTERVAL 90 DAY)
            AS refunds_90d
    FROM held h
    CROSS JOIN snapshots s
    WHERE h.issued_at < s.snapshot_date
    GROUP BY ALL
),
sent_on AS (
    SELECT r.sender AS person_id, s.snapshot_date, sum(r.amount) AS sent_90d
    FROM refund_transfers r
    JOIN snapshots s ON r.ts < s.snapshot_date AND r.ts >= s.snapshot_date - INTERVAL 90 DAY
    GROUP BY ALL
),
received AS (
    SELECT k.account_key, s.snapshot_date, count(DISTINCT r.sender) AS payers
    FROM refund_transfers r
    JOIN account_keys k ON k.account_id = r.receiver
    JOIN snapshots s ON r.ts < s.snapshot_date AND r.ts >= s.snapshot_date - INTERVAL 30 DAY
    GROUP BY ALL
),
-- Each account gets its person's figures. A sender surrendered a policy it held, so every
-- person in sent_on has rows in per_person.
per_account AS (
    SELECT k.account_key, p.snapshot_date, p.policies_in_force, p.surrenders_90d,
           p.refunds_90d, o.sent_90d
    FROM per_person p
    LEFT JOIN sent_on o USING (person_id, snapshot_date)
    JOIN account_persons pe USING (person_id)
    JOIN account_keys k USING (account_id)
)
SELECT
    u.entity_key,
    u.snapshot_date,
    coalesce(p.policies_in_force, 0) AS policies_in_force,
    coalesce(p.surrenders_90d, 0) AS surrenders_90d,
    capped(coalesce(p.sent_90d, 0) / nullif(p.refunds_90d, 0), 1) AS refund_sent_on_share_90d,
    coalesce(r.payers, 0) AS payers_after_surrender_30d
FROM account_snapshots u
LEFT JOIN per_account p ON p.account_key = u.entity_key AND p.snapshot_date = u.snapshot_date
LEFT JOIN received r ON r.account_key = u.entity_key AND r.snapshot_date = u.snapshot_date
