"""Synthetic loan tapes whose true parameters are known (the demo banks and the known-truth tests).

The generator writes contract-shaped tapes (docs/data-contract.md §1: one row
per loan per month-end snapshot; §4: every optional column included), a totals
file when the tape holds only part of the bank (§7), and a truth file with the
true parameters of the data-generating process (DGP) and the truths it realised.
Estimators are tested against the truth file; ``make demo`` builds three demo
banks from it deterministically.

The DGP runs month by month from ``burn_in_months`` before ``start`` to
``end``; the burn-in months are simulated but not written. They seed the
stock: renewal and repeat chains and long terms take about ten years to reach
steady state, so the default is 120 months (with 36, the stock was still
filling in the window and segment growth ran 2–10 pp above the configured rate
even in 2024).

1. Arrivals and first loans (notice 二(三) 加大首贷投放, 四(七) 无贷户). New
   borrowers of each type arrive as Poisson counts (``new_per_month`` at
   ``start``). A new borrower is a first-ever borrower (is_first_loan on its
   first loan) with probability ``first_loan_share``; otherwise it had loans
   elsewhere. Later loans of the same borrower are never first. Borrowers who
   arrived in the burn-in may have first loans there; those loans were
   originated before ``start`` and are not first loans of the window.
2. Volume growth (notice 二(一) 保量). Arrival rates grow at the annual rate of
   the borrower's growth group: ``inclusive_agri`` for agriculture-related
   borrowers (is_agri is a borrower attribute), ``inclusive_smb`` for the
   borrower types of the policy's inclusive_smb rules, ``other`` for the rest.
   Renewals and repeat loans follow the earlier arrivals, so in steady state a
   group's stock grows at its rate. The truth file records each segment's
   realised year-to-date balance growth, classified by the policy file's rules.
3. Pricing and LPR pass-through (notice 二(二) 稳价: price against the LPR). For
   each window month t, x_t is the amount-weighted applicable 1-year LPR
   (latest fixing on or before the origination date) of the month's
   inclusive_smb originations priced on lpr_1y (a month without such loans
   takes the 1-year LPR on its last day). The month's target rate follows
   the error-correction model
   Δm_t = β·Δx_t + γ·(m_{t−1} − α − θ·x_{t−1}) + ε_t,  ε_t ~ N(0, σ²),
   started on the long-run path, m_{start−1} = α + θ·x_{start−1}, with
   x_{start−1} the 1-year LPR on the last day of the month before ``start``.
   A loan's rate is m_t + c_i + e_i, rounded to 4 decimals, where
   c_i = type offset + guarantee offset + first-loan premium (if first) and the
   loan noise e_i ~ N(0, ``loan_rate_sd_pp``²). Within the inclusive_smb-lpr_1y
   group of a month c_i is centred (amount-weighted mean 0), so the group's
   amount-weighted rate is m_t plus only amount-weighted loan noise. Loans
   priced on lpr_5y add the 5-year minus 1-year LPR at origination and
   ``lpr_5y_offset_pp``. Pricing base: ``fixed`` with probability
   ``fixed_rate_share`` and for every loan originated before the first LPR
   fixing (2019-08-20; those were priced on the old benchmark); otherwise
   lpr_1y for terms up to 60 months, lpr_5y beyond. Burn-in months price at
   α + θ·(1-year LPR at month end, or ``pre_reform_rate_pct`` before the reform).
4. Default and risk classes (notice 四(九) 不良容忍, 尽职免责). From the month
   after origination, a performing loan defaults with monthly hazard
   ``hazard_monthly[segment]`` × ``first_loan_hazard_multiplier`` if it is a
   first loan; segment is the loan's policy segment (inclusive_smb, else
   inclusive_agri, else other). In its default month a loan is special_mention
   with days_past_due drawn from 60–89; its days past due then rise by 30 a
   month, so it is substandard (90–179 days) for 3 months, doubtful (180–359)
   for 6, then loss (360+) until it is written off (leaves the tape)
   ``writeoff_months`` after default. Its balance stays at the performing
   balance of its default month. Independently, each performing loan is
   special_mention for one month with probability ``special_mention_monthly``
   (days past due 1–59) and cures the next month; all other rows are normal
   with days past due 0. A default onset is therefore the first row with
   days_past_due ≥ 60.
5. Balances. bullet: the amount until maturity; amortizing: annuity at the
   loan's rate, one instalment per month; equal_principal: linear; revolving:
   the full amount in the origination month, then a utilisation drawn each
   month uniformly from ``revolving_utilisation_min``–100 % of the amount. A
   loan's last row is the month before its maturity month (no zero-balance
   rows). A performing loan repays early with the monthly hazard
   ``prepay_monthly`` of its type and leaves.
6. Renewals and repeat loans (notice 二(三) 加大续贷投放). At maturity a
   performing operating loan is renewed with probability ``renewal_prob``: a
   new loan_id originated on the maturity date, is_renewal, predecessor_loan_id
   the loan it replaces (a renewal chain), same borrower,
   product and term, amount × exp(N(0, ``renewal_amount_log_sd``²)) capped at
   the credit line. Otherwise (and after an early repayment) the borrower
   takes a new loan with probability ``repeat_prob`` after a gap of 1 to
   ``repeat_gap_months_max`` months (uniform). Defaulted borrowers do not
   return. A borrower has one loan at a time.
7. Fees (notice 二(二) 规范与第三方合作, 引导降低收费水平). At origination a loan
   with guarantee ``guarantee`` pays a guarantor fee with probability
   ``guarantor_fee_prob``, any loan an agent fee with probability
   ``agent_fee_prob`` (both in fee_third_party_cny), and a bank fee with
   probability ``bank_fee_prob`` (fee_bank_cny); each fee is the amount times
   a rate uniform in its range. Fees are origination attributes, repeated on
   every row of the loan. Poverty-household micro-loans pay none.
8. Columns (docs/data-contract.md §4). Every contract column is written, optional ones
   included, except the issue-17 ones a config does not draw: the 五(十)/四(七) ones (step 10) and the sector flags
   (``sector_flag_probs``: is_tech_sme, is_specialized_sme, is_green,
   is_foreign_trade, per borrower of an enterprise type), industry_code
   (``industry_probs``: GB/T 4754 codes of those borrowers, farmers A, others
   blank) and product (``student_loan_share`` of new other individuals borrow
   student_loan; poverty households poverty_microloan; the rest general). These
   are drawn from a fourth random stream, so the other columns do not change. Origination attributes are constant across a loan's rows;
   credit_line_cny is the borrower's total line (lognormal per type, rounded
   to 10,000 yuan, ≥ the amount; some lines exceed the policy's thresholds);
   amount = line × U(``amount_to_line_min``, 1), rounded down to 100 yuan.
   Counties carry the synthetic flags is_key_county and is_poverty_area
   (notice 二(一), 三(六)); the codes are real-format 6-digit codes but the
   flags do not reproduce the national lists. A share
   ``poverty_household_share`` of new farmer borrowers in poverty areas are
   households lifted out of poverty (notice 三(六) 脱贫人口小额信贷): their loans
   are at most ``poverty_loan_max_cny``, 1–3 years, credit, bullet, priced at
   the applicable 1-year LPR, is_poverty_household. Rows are sorted by
   (as_of, loan_id).
9. Totals (docs/data-contract.md §7), written when ``tape_is_complete`` is false:
   total_loans_cny = tape balance + the non-tape book (``non_tape_loans_cny``
   at ``start``, growing at ``non_tape_growth``); total_npl_cny = tape NPL
   balance + non-tape book × ``non_tape_npl_ratio``. With
   ``county_deposits_cny`` set, also county_loans_cny (tape balance in county
   areas + ``non_tape_county_share`` of the non-tape book) and
   county_deposits_cny (growing at ``county_deposit_growth``; notice 三(五)
   合理提升县域存贷比); writeoffs_cny, the tape's balance written off in the month
   (step 4; the non-tape book writes nothing off), recorded in the truth file.
10. 五(十) conduct and 四(七) 无贷户 columns (pucredit.synth.conduct), only those a bank lists in
   ``conduct_columns``: bureau lender count, revenue and credit at all lenders per borrower, payment
   method per loan, first bank loan anywhere on a share of first loans; hashed from the seed and the
   ids, so the other columns do not change. Their truth per month goes to the truth file's ``conduct``.

Randomness comes from four streams spawned from ``seed`` (arrivals and loan
events; the ECM shocks; row-level draws: revolving utilisation, one-month
special-mention spells; the issue-17 borrower attributes), so the same config gives byte-identical files.
Tapes are written a month at a time (one Parquet row group per month end, or
smaller), so memory is bounded by the live book, not by the number of rows;
every step is vectorised over loans, the only loop is over months.

Modules: params (BankConfig, load_config, the demo banks of banks/*.yaml),
months (month arithmetic), dgp (the simulation, steps 1-7), rows (a month's
rows, steps 4, 5, 8), truth (the truth file), writer (the files, step 9,
build_demo, ``pucredit synth``).
"""
from pucredit.synth.dgp import count_rows, scaled
from pucredit.synth.params import DEMO_BANKS, BankConfig, BorrowerTypeParams, County
from pucredit.synth.writer import build_demo, generate, output_paths, synth_command

__all__ = ["DEMO_BANKS", "BankConfig", "BorrowerTypeParams", "County", "build_demo", "count_rows", "generate",
           "output_paths", "scaled", "synth_command"]
