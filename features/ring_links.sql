-- What links the members of each ring (table `ring_members`: entity_id, ring_id) before
-- the cut-off `snapshot_date` (table `snapshots`, one row): devices seen on two or more of
-- its members in the last 90 days, phones two or more of them carry (pseudonyms), and the
-- money they paid each other in the last 30 days. Every list is ordered: DuckDB aggregates
-- in parallel, and the report must come out byte-identical however its threads ran.
WITH cutoff AS (SELECT max(snapshot_date) AS s FROM snapshots),
shared_devices AS (
    SELECT m.ring_id, d.device_id
    FROM device_events d
    JOIN ring_members m ON m.entity_id = d.account_id
    CROSS JOIN cutoff
    WHERE d.ts < cutoff.s AND d.ts >= cutoff.s - INTERVAL 90 DAY
    GROUP BY m.ring_id, d.device_id
    HAVING count(DISTINCT d.account_id) > 1
),
devices AS (
    SELECT ring_id, list(device_id ORDER BY device_id) AS shared_devices
    FROM shared_devices GROUP BY ring_id
),
member_phones AS (
    SELECT m.ring_id, m.entity_id, a.phone FROM ring_members m JOIN accounts a ON a.account_id = m.entity_id
    UNION ALL
    SELECT m.ring_id, m.entity_id, i.phone
    FROM ring_members m JOIN intermediaries i ON i.intermediary_id = m.entity_id
),
phones AS (
    SELECT ring_id, list(phone ORDER BY phone) AS shared_phones
    FROM (
        SELECT ring_id, phone FROM member_phones WHERE phone IS NOT NULL
        GROUP BY ALL HAVING count(DISTINCT entity_id) > 1
    )
    GROUP BY ring_id
),
flows AS (
    SELECT src.ring_id, count(*) AS payments_within_30d, sum(t.amount) AS money_moved_within_30d
    FROM transactions t
    JOIN ring_members src ON src.entity_id = t.src_id
    JOIN ring_members dst ON dst.entity_id = t.dst_id AND dst.ring_id = src.ring_id
    CROSS JOIN cutoff
    WHERE t.ts < cutoff.s AND t.ts >= cutoff.s - INTERVAL 30 DAY
    GROUP BY src.ring_id
)
SELECT
    r.ring_id,
    coalesce(d.shared_devices, []) AS shared_devices,
    coalesce(p.shared_phones, []) AS shared_phones,
    coalesce(f.payments_within_30d, 0) AS payments_within_30d,
    CAST(coalesce(f.money_moved_within_30d, 0) AS DOUBLE) AS money_moved_within_30d
FROM (SELECT DISTINCT ring_id FROM ring_members) r
LEFT JOIN devices d USING (ring_id)
LEFT JOIN phones p USING (ring_id)
LEFT JOIN flows f USING (ring_id)
