-- The data checks of the README's reference (row rules, duplicate keys, first-loan history), as plain DuckDB SQL:
-- run before reference_metrics.sql so the reference does the checks the validation does; thresholds are
-- those of the 2024 policy file, written out. Parameters: {tape}.
CREATE TEMP TABLE checks AS
SELECT count(*) AS rows,
       count(*) FILTER (WHERE as_of <> last_day(as_of) OR balance_cny < 0 OR amount_cny <= 0 OR credit_line_cny < 0
                         OR days_past_due < 0 OR maturity_date < origination_date OR origination_date > as_of
                         OR rate_pct < 0) AS row_errors,
       count(*) FILTER (WHERE rate_pct > 36 OR (rate_pct > 0 AND rate_pct < 1) OR balance_cny > credit_line_cny
                         OR amount_cny > credit_line_cny
                         OR (days_past_due >= 90 AND risk_class IN ('normal', 'special_mention'))
                         OR NOT regexp_full_match(county_code, '[1-9][0-9]{{5}}')) AS row_warnings
FROM read_parquet('{tape}');

CREATE TEMP TABLE dup AS
SELECT count(*) AS duplicates FROM (
    SELECT bank_id, as_of, loan_id FROM read_parquet('{tape}') GROUP BY ALL HAVING count(*) > 1);

CREATE TEMP TABLE loan_facts AS
SELECT bank_id, loan_id, min(borrower_id) AS borrower_id, min(origination_date) AS orig,
       bool_or(is_first_loan) AS first
FROM read_parquet('{tape}') GROUP BY bank_id, loan_id;

CREATE TEMP TABLE first_errors AS
SELECT count(*) AS first_loan_errors
FROM loan_facts l JOIN (SELECT bank_id, borrower_id, min(orig) AS orig FROM loan_facts GROUP BY ALL) e
  USING (bank_id, borrower_id)
WHERE l.first AND l.orig > e.orig;

SELECT (SELECT rows FROM checks) AS rows,
       (SELECT row_errors + (SELECT duplicates FROM dup) + (SELECT first_loan_errors FROM first_errors) FROM checks)
           AS errors;
