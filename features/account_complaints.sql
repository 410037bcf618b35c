-- Complaints an account filed (last 90 days), and whether they look organised: the same
-- words as many other complainants, or a contact phone that is not the customer's own.
WITH recent AS (
    SELECT c.account_id, c.text, c.contact_phone, s.snapshot_date
    FROM complaints c
    JOIN snapshots s ON c.ts < s.snapshot_date AND c.ts >= s.snapshot_date - INTERVAL 90 DAY
),
text_senders AS (
    SELECT snapshot_date, text, count(DISTINCT account_id) AS senders
    FROM recent
    WHERE text IS NOT NULL
    GROUP BY ALL
),
contact_senders AS (
    SELECT snapshot_date, contact_phone, count(DISTINCT account_id) AS senders
    FROM recent
    WHERE contact_phone IS NOT NULL
    GROUP BY ALL
),
per_account AS (
    SELECT
        k.account_key,
        r.snapshot_date,
        count(*) AS complaints_90d,
        max(t.senders) - 1 AS max_others_same_text_90d,
        max(c.senders) - 1 AS max_others_same_contact_90d,
        avg(CASE WHEN r.contact_phone <> a.phone THEN 1.0 ELSE 0.0 END)
            AS third_party_contact_share_90d
    FROM recent r
    JOIN accounts a USING (account_id)
    JOIN account_keys k USING (account_id)
    LEFT JOIN text_senders t USING (snapshot_date, text)
    LEFT JOIN contact_senders c USING (snapshot_date, contact_phone)
    GROUP BY ALL
)
SELECT
    u.entity_key,
    u.snapshot_date,
    coalesce(p.complaints_90d, 0) AS complaints_90d,
    coalesce(p.max_others_same_text_90d, 0) AS max_others_same_text_90d,
    coalesce(p.max_others_same_contact_90d, 0) AS max_others_same_contact_90d,
    p.third_party_contact_share_90d
FROM account_snapshots u
LEFT JOIN per_account p ON p.account_key = u.entity_key AND p.snapshot_date = u.snapshot_date
