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

-- Each account's payments in the 30 days before each snapshot.
CREATE OR REPLACE TEMP VIEW account_flows_30d AS
SELECT f.account_id, s.snapshot_date, f.ts, f.amount, f.direction, f.counterparty
FROM account_flows f
JOIN snapshots s ON f.ts < s.snapshot_date AND f.ts >= s.snapshot_date - INTERVAL 30 DAY;

-- The intermediary itself and every account registered with its phone: where money sent
-- "to the intermediary" can land.
CREATE OR REPLACE TEMP VIEW intermediary_receivers AS
SELECT i.intermediary_id, a.account_id AS receiver
FROM intermediaries i
JOIN accounts a ON a.phone = i.phone
UNION ALL
SELECT intermediary_id, intermediary_id FROM intermediaries;

CREATE OR REPLACE TEMP VIEW account_snapshots AS
SELECT a.account_id AS entity_id, s.snapshot_date
FROM accounts a CROSS JOIN snapshots s
WHERE a.opened_at IS NULL OR a.opened_at < s.snapshot_date;

CREATE OR REPLACE TEMP VIEW intermediary_snapshots AS
SELECT i.intermediary_id AS entity_id, s.snapshot_date
FROM intermediaries i CROSS JOIN snapshots s
WHERE i.registered_at IS NULL OR i.registered_at < s.snapshot_date;
