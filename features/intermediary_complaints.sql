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
-- Its clients (borrowers and policyholders brought in over the last year) who complained.
clients AS (
    SELECT l.intermediary_id, l.account_id, s.snapshot_date
    FROM loans l
    JOIN snapshots s
      ON l.applied_at < s.snapshot_date AND l.applied_at >= s.snapshot_date - INTERVAL 365 DAY
    WHERE l.intermediary_id IS NOT NULL
    UNION
    SELECT p.intermediary_id, p.account_id, s.snapshot_date
    FROM policies p
    JOIN snapshots s
      ON p.issued_at < s.snapshot_date AND p.issued_at >= s.snapshot_date - INTERVAL 365 DAY
    WHERE p.intermediary_id IS NOT NULL
),
complainants AS (
    SELECT DISTINCT c.account_id, s.snapshot_date
    FROM complaints c
    JOIN snapshots s
      ON c.ts < s.snapshot_date AND c.ts >= s.snapshot_date - INTERVAL 365 DAY
),
client_outcomes AS (
    SELECT
        k.intermediary_id,
        k.snapshot_date,
        avg(CASE WHEN c.account_id IS NOT NULL THEN 1.0 ELSE 0.0 END)
            AS client_complaint_rate_365d
    FROM clients k
    LEFT JOIN complainants c USING (account_id, snapshot_date)
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
    u.entity_key,
    u.snapshot_date,
    coalesce(p.complaints_with_its_phone_90d, 0) AS complaints_with_its_phone_90d,
    coalesce(p.complainants_with_its_phone_90d, 0) AS complainants_with_its_phone_90d,
    coalesce(t.complaints_against_90d, 0) AS complaints_against_90d,
    coalesce(t.max_identical_complaints_90d, 0) AS max_identical_complaints_90d,
    o.client_complaint_rate_365d
FROM intermediary_snapshots u
LEFT JOIN by_phone p ON p.intermediary_id = u.entity_id AND p.snapshot_date = u.snapshot_date
LEFT JOIN by_target t ON t.intermediary_id = u.entity_id AND t.snapshot_date = u.snapshot_date
LEFT JOIN client_outcomes o
  ON o.intermediary_id = u.entity_id AND o.snapshot_date = u.snapshot_date
