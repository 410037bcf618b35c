-- Devices and networks an account logs in from, and who else uses them (last 90 days).
-- A sighting is one distinct device or address of the account, with the snapshots that see
-- it as bits: see _device_sightings_90d.sql. Counts are made per set of snapshots first and
-- unfolded into the snapshots after, where they are few.
WITH login_counts AS (
    -- An account's logins of a month fall into one or two sets of snapshots.
    SELECT
        account_key,
        chunk,
        snapshots,
        count(*) AS logins,
        count(*) FILTER (WHERE utc_hour(ts) < 5) AS night_logins
    FROM logins_90d
    GROUP BY ALL
),
logins AS (
    SELECT c.account_key, b.snapshot_date, sum(c.logins) AS logins,
           sum(c.night_logins) AS night_logins
    FROM login_counts c JOIN snapshot_bits b ON b.chunk = c.chunk AND holds(c.snapshots, b.bit)
    GROUP BY ALL
),
value_counts AS (
    SELECT
        account_key,
        chunk,
        snapshots,
        count(*) FILTER (WHERE kind = 'device') AS devices,
        count(*) FILTER (WHERE kind = 'ip') AS ips
    FROM device_sightings_90d
    GROUP BY ALL
),
distinct_values AS (
    SELECT c.account_key, b.snapshot_date, sum(c.devices) AS distinct_devices_90d,
           sum(c.ips) AS distinct_ips_90d
    FROM value_counts c JOIN snapshot_bits b ON b.chunk = c.chunk AND holds(c.snapshots, b.bit)
    GROUP BY ALL
),
-- Only values others use too: any other was used by this account alone.
most_shared AS (
    SELECT
        s.account_key,
        u.snapshot_date,
        max(u.accounts) FILTER (WHERE s.kind = 'device') AS max_accounts_per_device_90d,
        max(u.accounts) FILTER (WHERE s.kind = 'ip') AS max_accounts_per_ip_90d
    FROM device_sightings_90d s
    JOIN snapshot_bits b ON b.chunk = s.chunk AND holds(s.snapshots, b.bit)
    JOIN device_users_90d u
      ON u.snapshot_date = b.snapshot_date AND u.kind = s.kind AND u.value = s.value
    GROUP BY ALL
)
SELECT
    u.entity_key,
    u.snapshot_date,
    coalesce(d.distinct_devices_90d, 0) AS distinct_devices_90d,
    coalesce(d.distinct_ips_90d, 0) AS distinct_ips_90d,
    CASE WHEN d.distinct_devices_90d > 0 THEN coalesce(m.max_accounts_per_device_90d, 1) ELSE 0 END
        AS max_accounts_per_device_90d,
    CASE WHEN d.distinct_ips_90d > 0 THEN coalesce(m.max_accounts_per_ip_90d, 1) ELSE 0 END
        AS max_accounts_per_ip_90d,
    l.night_logins / l.logins AS night_login_share_90d
FROM account_snapshots u
LEFT JOIN logins l ON l.account_key = u.entity_key AND l.snapshot_date = u.snapshot_date
LEFT JOIN distinct_values d ON d.account_key = u.entity_key AND d.snapshot_date = u.snapshot_date
LEFT JOIN most_shared m ON m.account_key = u.entity_key AND m.snapshot_date = u.snapshot_date
