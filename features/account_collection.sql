-- Debt collection contacts an account received (last 90 days).
WITH per_account AS (
    SELECT
        k.account_key,
        s.snapshot_date,
        count(*) AS collection_contacts_90d,
        count(DISTINCT e.agency_id) AS collection_agencies_90d,
        avg(CASE WHEN utc_hour(e.ts) < 8 OR utc_hour(e.ts) >= 21 THEN 1.0 ELSE 0.0 END)
            AS collection_night_share_90d
    FROM collection_events e
    JOIN account_keys k USING (account_id)
    JOIN snapshot_days s ON s.day = utc_day(e.ts)
    GROUP BY ALL
)
SELECT
    u.entity_key,
    u.snapshot_date,
    coalesce(p.collection_contacts_90d, 0) AS collection_contacts_90d,
    coalesce(p.collection_agencies_90d, 0) AS collection_agencies_90d,
    p.collection_night_share_90d
FROM account_snapshots u
LEFT JOIN per_account p ON p.account_key = u.entity_key AND p.snapshot_date = u.snapshot_date
