-- How a collection agency treats debtors (last 90 days).
WITH recent AS (
    SELECT e.*, s.snapshot_date
    FROM collection_events e
    JOIN snapshot_days s ON s.day = utc_day(e.ts)
),
per_agency AS (
    SELECT
        agency_id,
        snapshot_date,
        count(DISTINCT account_id) AS debtors_contacted_90d,
        avg(CASE WHEN utc_hour(ts) < 8 OR utc_hour(ts) >= 21 THEN 1.0 ELSE 0.0 END)
            AS night_contact_share_90d,
        count(*) / count(DISTINCT (account_id, utc_day(ts)))
            AS contacts_per_debtor_day_90d,
        avg(CASE WHEN contacted_third_party THEN 1.0 ELSE 0.0 END) AS third_party_share_90d
    FROM recent
    GROUP BY ALL
)
SELECT
    u.entity_key,
    u.snapshot_date,
    coalesce(p.debtors_contacted_90d, 0) AS debtors_contacted_90d,
    p.night_contact_share_90d,
    p.contacts_per_debtor_day_90d,
    p.third_party_share_90d
FROM intermediary_snapshots u
LEFT JOIN per_agency p ON p.agency_id = u.entity_id AND p.snapshot_date = u.snapshot_date
