-- The deterministic metrics of docs/data-contract.md §17 hand-written as plain DuckDB SQL over the Parquet tape,
-- no data checks: the "bare metrics" side that benchmarks/metrics_scale.py times `pucredit metrics` against.
-- The reference with checks runs reference_checks.sql first, in the same connection.
-- Parameters (filled in by the script): {tape}, {bank}, {start}, {end}, {base}, {lpr}.
CREATE TEMP TABLE lpr AS SELECT * FROM read_csv('{lpr}');

CREATE TEMP TABLE stocks AS
SELECT as_of,
       sum(balance_cny) AS total,
       sum(balance_cny) FILTER (WHERE risk_class IN ('substandard', 'doubtful', 'loss')) AS total_npl,
       sum(balance_cny) FILTER (WHERE smb) AS smb,
       sum(balance_cny) FILTER (WHERE smb AND risk_class IN ('substandard', 'doubtful', 'loss')) AS smb_npl,
       count(DISTINCT borrower_id) FILTER (WHERE smb AND balance_cny > 0) AS smb_borrowers,
       sum(balance_cny) FILTER (WHERE agri) AS agri,
       sum(balance_cny) FILTER (WHERE agri AND risk_class IN ('substandard', 'doubtful', 'loss')) AS agri_npl
FROM (
    SELECT *,
           borrower_type IN ('small_micro_enterprise', 'individual_business', 'micro_owner') AND is_business
             AND credit_line_cny <= 10000000 AS smb,
           is_agri AND is_business AND ((borrower_type = 'farmer' AND credit_line_cny <= 5000000)
             OR (borrower_type IN ('small_micro_enterprise', 'agri_organization') AND credit_line_cny <= 10000000)) AS agri
    FROM read_parquet('{tape}') WHERE bank_id = '{bank}' AND as_of IN (DATE '{base}', DATE '{end}')
) GROUP BY as_of;

CREATE TEMP TABLE orig AS
SELECT o.*, CASE o.pricing_base WHEN 'lpr_1y' THEN l.lpr_1y_pct WHEN 'lpr_5y' THEN l.lpr_5y_pct END AS lpr_pct
FROM (
    SELECT t.*,
           borrower_type IN ('small_micro_enterprise', 'individual_business', 'micro_owner') AND is_business
             AND credit_line_cny <= 10000000 AS smb,
           is_agri AND is_business AND ((borrower_type = 'farmer' AND credit_line_cny <= 5000000)
             OR (borrower_type IN ('small_micro_enterprise', 'agri_organization') AND credit_line_cny <= 10000000)) AS agri
    FROM read_parquet('{tape}') t
    JOIN (SELECT loan_id, min(as_of) AS as_of FROM read_parquet('{tape}')
          WHERE bank_id = '{bank}' AND origination_date BETWEEN DATE '{start}' AND DATE '{end}' GROUP BY loan_id) f
      USING (loan_id, as_of)
    WHERE t.bank_id = '{bank}'
) o ASOF LEFT JOIN lpr l ON o.origination_date >= l.fixing_date;

SELECT
    (SELECT smb FROM stocks WHERE as_of = DATE '{end}') AS inclusive_smb_balance_cny,
    (SELECT smb FROM stocks WHERE as_of = DATE '{end}') / (SELECT smb FROM stocks WHERE as_of = DATE '{base}') - 1
        AS inclusive_smb_growth,
    (SELECT total FROM stocks WHERE as_of = DATE '{end}') / (SELECT total FROM stocks WHERE as_of = DATE '{base}') - 1
        AS total_loans_growth,
    (SELECT agri FROM stocks WHERE as_of = DATE '{end}') / (SELECT agri FROM stocks WHERE as_of = DATE '{base}') - 1
        AS inclusive_agri_growth,
    (SELECT smb_borrowers FROM stocks WHERE as_of = DATE '{end}') AS inclusive_smb_borrowers,
    (SELECT sum(amount_cny) FROM orig WHERE smb) AS inclusive_smb_new_amount_cny,
    (SELECT sum(amount_cny * rate_pct) / sum(amount_cny) FROM orig WHERE smb) AS inclusive_smb_new_rate_pct,
    (SELECT sum(amount_cny * (rate_pct - lpr_pct)) / sum(amount_cny) FROM orig
        WHERE smb AND pricing_base <> 'fixed' AND lpr_pct IS NOT NULL) AS inclusive_smb_new_spread_pp,
    (SELECT count(DISTINCT borrower_id) FROM orig WHERE smb) AS borrowers_originated,
    (SELECT count(DISTINCT borrower_id) FROM orig WHERE smb AND is_first_loan) AS first_loan_borrowers,
    (SELECT smb_npl / smb FROM stocks WHERE as_of = DATE '{end}') AS inclusive_smb_npl_ratio,
    (SELECT total_npl / total FROM stocks WHERE as_of = DATE '{end}') AS total_npl_ratio,
    (SELECT agri_npl / agri FROM stocks WHERE as_of = DATE '{end}') AS inclusive_agri_npl_ratio;
