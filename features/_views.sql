-- Shared views over the clean tables. Every family selects from these and from
-- `snapshots` (one row per cut-off `snapshot_date`); an event counts for a snapshot only
-- when it happened strictly before the cut-off.

-- Each transaction seen once from each side that is a customer account.
CREATE OR REPLACE TEMP VIEW account_flows AS
SELECT src_id AS account_id, 'out' AS direction, dst_id AS counterparty, ts, amount
FROM transactions WHERE src_id IN (SELECT account_id FROM accounts)
UNION ALL
SELECT dst_id AS account_id, 'in' AS direction, src_id AS counterparty, ts, amount
FROM transactions WHERE dst_id IN (SELECT account_id FROM accounts);

CREATE OR REPLACE TEMP VIEW account_snapshots AS
SELECT a.account_id AS entity_id, s.snapshot_date
FROM accounts a CROSS JOIN snapshots s
WHERE a.opened_at IS NULL OR a.opened_at < s.snapshot_date;

CREATE OR REPLACE TEMP VIEW intermediary_snapshots AS
SELECT i.intermediary_id AS entity_id, s.snapshot_date
FROM intermediaries i CROSS JOIN snapshots s
WHERE i.registered_at IS NULL OR i.registered_at < s.snapshot_date;
