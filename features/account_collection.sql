-- Debt collection contacts an account received (last 90 days).
-- Each contact is assigned to the set of snapshots whose windows hold its day (as bits,
-- features/_views.sql) rather than to each snapshot: contacts are counted per set, and an
-- agency becomes one row per account with the snapshots that saw it, so no distinct count
-- runs over every contact of three windows. Both are unfolded into snapshots once few.
WITH contacts AS (
    SELECT k.account_key, d.chunk, d.snapshots, e.agency_id, e.ts
    FROM collection_events e
    JOIN account_keys k USING (account_id)
    JOIN day_snapshots_90d d ON d.day = utc_day(e.ts)
    WHERE within_reach(e.ts, 90)
),
contact_counts AS (
    SELECT
        account_key,
        chunk,
        snapshots,
        count(*) AS contacts,
        -- Before 8 am or after 9 pm.
        count(*) FILTER (WHERE utc_hour(ts) < 8 OR utc_hour(ts) >= 21) AS night_contacts
    FROM contacts
    GROUP BY ALL
),
agencies AS (
    SELECT account_key, chunk, agency_id, bit_or(snapshots) AS snapshots
    FROM contacts
    GROUP BY ALL
),
per_account AS (
    SELECT c.account_key, b.snapshot_date, sum(c.contacts) AS collection_contacts_90d,
           sum(c.night_contacts) / sum(c.contacts) AS collection_night_share_90d
    FROM contact_counts c JOIN snapshot_bits b ON b.chunk = c.chunk AND holds(c.snapshots, b.bit)
    GROUP BY ALL
),
agency_counts AS (
    SELECT a.account_key, b.snapshot_date, count(*) AS collection_agencies_90d
    FROM agencies a JOIN snapshot_bits b ON b.chunk = a.chunk AND holds(a.snapshots, b.bit)
    GROUP BY ALL
)
SELECT
    u.entity_key,
    u.snapshot_date,
    coalesce(p.collection_contacts_90d, 0) AS collection_contacts_90d,
    coalesce(a.collection_agencies_90d, 0) AS collection_agencies_90d,
    p.collection_night_share_90d
FROM account_snapshots u
LEFT JOIN per_account p ON p.account_key = u.entity_key AND p.snapshot_date = u.snapshot_date
LEFT JOIN agency_counts a ON a.account_key = u.entity_key AND a.snapshot_date = u.snapshot_date
