# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
bank_file: str = "LB01"  # bank file: a name in parameters/banks/ or a path to a bank YAML
period: str = "2025H1"  # reporting period: 2024, 2024H1, 2024Q3 or 2024-05
lang: str = ""  # report language, zh or en; empty: the bank file's choice
policy: str = ""  # policy year or file; empty: the bank file's, else the period's year
context: str = ""  # set by pucredit run: the validated tape and metrics of this bank (empty: read the tape)
audit_size: int = 200  # loans in the audit sample (at least one per stratum)
audit_seed: int = 2024  # the same seed, data and size give the same sample on any machine
audit_dir: str = ""  # folder for the audit sample CSV, never overwritten; empty: not written (pucredit run: ROOT/_audit/<bank>/<period>)
pseudonym_key_file: str = ""  # file holding the pseudonymisation key; given, the CSV also carries raw borrower ids

# %%
# Sections: pucredit/report/sections/quality.py; every heading and text: pucredit/report/catalogue/quality.yaml
from pucredit.analyses import quality
from pucredit.report import context as report
from pucredit.report.sections import quality as sections

r = report.setup(bank_file=bank_file, period=period, lang=lang, policy=policy, context=context)
audit = quality.check_audit_parameters(audit_size=audit_size, audit_seed=audit_seed, audit_dir=audit_dir,
                                       pseudonym_key_file=pseudonym_key_file)
counts = quality.rule_counts(r.bank, until=r.period.end)  # the data up to the period end
r.header("qual")

# %%
sections.validation(r, counts)

# %%
sections.by_branch_and_month(r, counts)

# %%
sections.threshold_bunching(r)

# %%
sections.branch_breaks(r)

# %%
sections.first_loan_flags(r)

# %%
sections.audit_sample(r, audit)

# %%
r.close()
