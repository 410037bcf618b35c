-- Devices and networks an account logs in from, and who else uses them (last 90 days).
-- Each device (address) once per account before counting: see _device_users_90d.sql.
WITH devices AS (
    SELECT
        r.account_key,
        r.snapshot_date,
        count(*) AS distinct_devices_90d,
        max(d.accounts) AS max_accounts_per_device_90d
    FROM (SELECT DISTINCT account_key, snapshot_date, device FROM device_sightings_90d) r
    JOIN device_users_90d d
      ON d.snapshot_date = r.snapshot_date AND d.kind = 'device' AND d.value = r.device
    GROUP BY ALL
),
ips AS (
    SELECT
        r.account_key,
        r.snapshot_date,
        count(*) AS distinct_ips_90d,
        max(i.accounts) AS max_accounts_per_ip_90d
    FROM (
        SELECT DISTINCT account_key, snapshot_date, ip FROM device_sightings_90d
        WHERE ip IS NOT NULL
    ) r
    JOIN device_users_90d i
      ON i.snapshot_date = r.snapshot_date AND i.kind = 'ip' AND i.value = r.ip
    GROUP BY ALL
),
logins AS (
    SELECT account_key, snapshot_date, sum(night_logins) / sum(logins) AS night_login_share_90d
    FROM device_sightings_90d
    GROUP BY ALL
)
SELECT
    u.entity_id,
    u.snapshot_date,
    coalesce(d.distinct_devices_90d, 0) AS distinct_devices_90d,
    coalesce(i.distinct_ips_90d, 0) AS distinct_ips_90d,
    coalesce(d.max_accounts_per_device_90d, 0) AS max_accounts_per_device_90d,
    coalesce(i.max_accounts_per_ip_90d, 0) AS max_accounts_per_ip_90d,
    n.night_login_share_90d
FROM account_snapshots u
LEFT JOIN devices d ON d.account_key = u.account_key AND d.snapshot_date = u.snapshot_date
LEFT JOIN ips i ON i.account_key = u.account_key AND i.snapshot_date = u.snapshot_date
LEFT JOIN logins n ON n.account_key = u.account_key AND n.snapshot_date = u.snapshot_date
