-- Who the intermediary is: its kind, licence and age. Conduct features only mean
-- something against its kind (night calls for a collector, surrenders for an agent).
SELECT
    u.entity_key,
    u.snapshot_date,
    utc_day(u.snapshot_date) - utc_day(i.registered_at) AS intermediary_age_days,
    CASE WHEN i.licensed THEN 1 WHEN NOT i.licensed THEN 0 END AS licensed,
    CASE WHEN i.kind = 'loan_broker' THEN 1 ELSE 0 END AS is_loan_broker,
    CASE WHEN i.kind = 'insurance_agent' THEN 1 ELSE 0 END AS is_insurance_agent,
    CASE WHEN i.kind = 'debt_advisor' THEN 1 ELSE 0 END AS is_debt_advisor,
    CASE WHEN i.kind = 'collection_agency' THEN 1 ELSE 0 END AS is_collection_agency,
    CASE WHEN i.kind IN ('merchant', 'other') THEN 1 ELSE 0 END AS is_other_kind
FROM intermediary_snapshots u
JOIN intermediaries i ON i.intermediary_id = u.entity_id
