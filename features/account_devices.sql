-- Devices and networks an account logs in from, and who else uses them (last 90 days).
WITH recent AS (
    SELECT e.account_id, s.snapshot_date, e.device_id, e.ip, e.ts
    FROM device_events e
    JOIN snapshots s
      ON e.ts < s.snapshot_date AND e.ts >= s.snapshot_date - INTERVAL 90 DAY
),
device_users AS (
    SELECT snapshot_date, device_id, count(DISTINCT account_id) AS accounts_on_device
    FROM recent
    GROUP BY ALL
),
ip_users AS (
    SELECT snapshot_date, ip, count(DISTINCT account_id) AS accounts_on_ip
    FROM recent
    WHERE ip IS NOT NULL
    GROUP BY ALL
),
per_account AS (
    SELECT
        r.account_id,
        r.snapshot_date,
        count(DISTINCT r.device_id) AS distinct_devices_90d,
        count(DISTINCT r.ip) AS distinct_ips_90d,
        max(d.accounts_on_device) AS max_accounts_per_device_90d,
        max(i.accounts_on_ip) AS max_accounts_per_ip_90d,
        avg(CASE WHEN hour(r.ts) < 5 THEN 1.0 ELSE 0.0 END) AS night_login_share_90d
    FROM recent r
    JOIN device_users d USING (snapshot_date, device_id)
    LEFT JOIN ip_users i USING (snapshot_date, ip)
    GROUP BY ALL
)
SELECT
    u.entity_id,
    u.snapshot_date,
    coalesce(p.distinct_devices_90d, 0) AS distinct_devices_90d,
    coalesce(p.distinct_ips_90d, 0) AS distinct_ips_90d,
    coalesce(p.max_accounts_per_device_90d, 0) AS max_accounts_per_device_90d,
    coalesce(p.max_accounts_per_ip_90d, 0) AS max_accounts_per_ip_90d,
    p.night_login_share_90d
FROM account_snapshots u
LEFT JOIN per_account p ON p.account_id = u.entity_id AND p.snapshot_date = u.snapshot_date
