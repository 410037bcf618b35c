-- How many different senders paid each account, and how many different receivers it paid,
-- in the 30 days before one snapshot (`$snapshot`), from the flow table. Built snapshot by
-- snapshot (pipeline/featurize.py, BY_SNAPSHOT): one snapshot's payment sides group in
-- memory, where all snapshots' at once spilled to disk and back (at a million accounts and
-- 12 snapshots, 96 M sides of which 88 M distinct: 14.4 to 17.4 s, 11 to 15 s of it the
-- kernel's, against 11.1 to 12.5 s and under 3 s snapshot by snapshot).
-- Grouping twice counts distinct counterparties much faster than count(DISTINCT).
SELECT
    account_key,
    snapshot_date,
    count(*) FILTER (WHERE incoming) AS distinct_payers_30d,
    count(*) FILTER (WHERE NOT incoming) AS distinct_payees_30d
FROM (
    SELECT DISTINCT account_key, snapshot_date, incoming, counterparty
    FROM account_flows_30d
    WHERE snapshot_date = $snapshot
)
GROUP BY ALL
