-- Devices and networks an account logs in from, and who else uses them (last 90 days).
WITH per_account AS (
    SELECT
        r.account_key,
        r.snapshot_date,
        count(DISTINCT r.device) AS distinct_devices_90d,
        count(DISTINCT r.ip) AS distinct_ips_90d,
        max(d.accounts) AS max_accounts_per_device_90d,
        max(i.accounts) AS max_accounts_per_ip_90d,
        sum(r.night_logins) / sum(r.logins) AS night_login_share_90d
    FROM device_sightings_90d r
    JOIN device_users_90d d
      ON d.snapshot_date = r.snapshot_date AND d.kind = 'device' AND d.value = r.device
    LEFT JOIN device_users_90d i
      ON i.snapshot_date = r.snapshot_date AND i.kind = 'ip' AND i.value = r.ip
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
LEFT JOIN per_account p ON p.account_key = u.account_key AND p.snapshot_date = u.snapshot_date
