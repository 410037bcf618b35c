-- The clients an intermediary brings in and how their loans turn out.
WITH referred AS (
    SELECT l.*, s.snapshot_date
    FROM loans l
    JOIN snapshots s
      ON l.applied_at < s.snapshot_date AND l.applied_at >= s.snapshot_date - INTERVAL 365 DAY
    WHERE l.intermediary_id IS NOT NULL
),
peer_income AS (
    SELECT s.snapshot_date, median(l.stated_income) AS median_stated_income
    FROM loans l
    JOIN snapshots s ON l.applied_at < s.snapshot_date
    GROUP BY ALL
),
-- Application devices used by more than one of the same intermediary's clients.
shared_devices AS (
    SELECT intermediary_id, snapshot_date, device_id
    FROM referred
    WHERE device_id IS NOT NULL
    GROUP BY ALL
    HAVING count(DISTINCT account_id) > 1
),
per_intermediary AS (
    SELECT
        r.intermediary_id,
        r.snapshot_date,
        count(*) FILTER (WHERE r.applied_at >= r.snapshot_date - INTERVAL 90 DAY)
            AS referred_applications_90d,
        count(*) FILTER (WHERE r.applied_at < r.snapshot_date - INTERVAL 90 DAY
                           AND r.applied_at >= r.snapshot_date - INTERVAL 180 DAY)
            AS referred_applications_prior_90d,
        count(DISTINCT r.account_id) AS referred_clients_365d,
        avg(r.stated_income) / any_value(p.median_stated_income) AS client_income_to_peers,
        count(*) FILTER (WHERE r.defaulted_at < r.snapshot_date)
            / nullif(count(*) FILTER (WHERE r.disbursed_at < r.snapshot_date), 0)
            AS client_default_rate_365d,
        avg(CASE WHEN sd.device_id IS NOT NULL THEN 1.0 ELSE 0.0 END)
            AS client_shared_device_share_365d
    FROM referred r
    JOIN peer_income p USING (snapshot_date)
    LEFT JOIN shared_devices sd USING (intermediary_id, snapshot_date, device_id)
    GROUP BY ALL
)
SELECT
    u.entity_key,
    u.snapshot_date,
    coalesce(p.referred_applications_90d, 0) AS referred_applications_90d,
    (coalesce(p.referred_applications_90d, 0) + 1.0)
        / (coalesce(p.referred_applications_prior_90d, 0) + 1.0) AS referral_growth_90d,
    coalesce(p.referred_clients_365d, 0) AS referred_clients_365d,
    p.client_income_to_peers,
    p.client_default_rate_365d,
    p.client_shared_device_share_365d
FROM intermediary_snapshots u
LEFT JOIN per_intermediary p
  ON p.intermediary_id = u.entity_id AND p.snapshot_date = u.snapshot_date
