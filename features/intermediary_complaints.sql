-- Complaints that name the intermediary: as their target, or through its phone number given
-- as the contact (the mark of schemes filing complaints in customers' names; last 90 days).
WITH recent AS (
    SELECT c.*, s.snapshot_date
    FROM complaints c
    JOIN snapshots s
      ON c.ts < s.snapshot_date AND c.ts >= s.snapshot_date - INTERVAL 90 DAY
),
by_phone AS (
    SELECT
        i.intermediary_id,
        r.snapshot_date,
        count(*) AS complaints_with_its_phone_90d,
        count(DISTINCT r.account_id) AS complainants_with_its_phone_90d
    FROM recent r
    JOIN intermediaries i ON i.phone = r.contact_phone
    GROUP BY ALL
),
-- How many complaints share the exact text of each complaint: templates come in waves.
same_text AS (
    SELECT snapshot_date, text, count(*) AS copies
    FROM recent
    WHERE text IS NOT NULL
    GROUP BY ALL
),
by_target AS (
    SELECT
        r.target_id AS intermediary_id,
        r.snapshot_date,
        count(*) AS complaints_against_90d,
        max(t.copies) AS max_identical_complaints_90d
    FROM recent r
    LEFT JOIN same_text t USING (snapshot_date, text)
    WHERE r.target_id IS NOT NULL
    GROUP BY ALL
)
SELECT
    u.entity_id,
    u.snapshot_date,
    coalesce(p.complaints_with_its_phone_90d, 0) AS complaints_with_its_phone_90d,
    coalesce(p.complainants_with_its_phone_90d, 0) AS complainants_with_its_phone_90d,
    coalesce(t.complaints_against_90d, 0) AS complaints_against_90d,
    coalesce(t.max_identical_complaints_90d, 0) AS max_identical_complaints_90d
FROM intermediary_snapshots u
LEFT JOIN by_phone p ON p.intermediary_id = u.entity_id AND p.snapshot_date = u.snapshot_date
LEFT JOIN by_target t ON t.intermediary_id = u.entity_id AND t.snapshot_date = u.snapshot_date
