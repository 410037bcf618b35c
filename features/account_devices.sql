-- Devices and networks an account logs in from, and who else uses them (last 90 days).
-- A sighting is one distinct device or address of the account: see _device_sightings_90d.sql.
WITH per_account AS (
    SELECT
        s.account_key,
        s.snapshot_date,
        count(*) FILTER (WHERE s.kind = 'device') AS distinct_devices_90d,
        count(*) FILTER (WHERE s.kind = 'ip') AS distinct_ips_90d,
        max(coalesce(u.accounts, 1)) FILTER (WHERE s.kind = 'device')
            AS max_accounts_per_device_90d,
        max(coalesce(u.accounts, 1)) FILTER (WHERE s.kind = 'ip') AS max_accounts_per_ip_90d,
        -- Every login has a device, so the device rows hold every login once.
        sum(s.night_logins) FILTER (WHERE s.kind = 'device')
            / sum(s.logins) FILTER (WHERE s.kind = 'device') AS night_login_share_90d
    FROM device_sightings_90d s
    -- Absent from device_users_90d: used by this account alone.
    LEFT JOIN device_users_90d u USING (snapshot_date, kind, value)
    GROUP BY ALL
)
SELECT
    u.entity_key,
    u.snapshot_date,
    coalesce(p.distinct_devices_90d, 0) AS distinct_devices_90d,
    coalesce(p.distinct_ips_90d, 0) AS distinct_ips_90d,
    coalesce(p.max_accounts_per_device_90d, 0) AS max_accounts_per_device_90d,
    coalesce(p.max_accounts_per_ip_90d, 0) AS max_accounts_per_ip_90d,
    p.night_login_share_90d
FROM account_snapshots u
LEFT JOIN per_account p ON p.account_key = u.account_key AND p.snapshot_date = u.snapshot_date
