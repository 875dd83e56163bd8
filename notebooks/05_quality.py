# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 数据质量 · Data quality review
#
# 通知五（十一）：银行业金融机构要切实加强普惠信贷数据质量管理，开展内部抽查和审计，确保数据真实可靠。Notice 五(十一): banks check their inclusive-credit data by internal sampling and audit. Sections: pucredit/report/sections/quality.py; text: pucredit/report/catalogue/quality.yaml.

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
from pucredit.analyses import quality
from pucredit.report import context as report
from pucredit.report.sections import quality as sections

r = report.setup(bank_file=bank_file, period=period, lang=lang, policy=policy, context=context)
audit = quality.check_audit_parameters(audit_size=audit_size, audit_seed=audit_seed, audit_dir=audit_dir,
                                       pseudonym_key_file=pseudonym_key_file)
counts = quality.rule_counts(r.bank, until=r.period.end)  # the data up to the period end
r.header()

# %% [markdown]
# ## 1. 校验结果 · Validation findings

# %%
sections.validation(r, counts)

# %% [markdown]
# ## 2. 分支机构与月份 · By branch and month

# %%
sections.by_branch_and_month(r, counts)

# %% [markdown]
# ## 3. 序列合理性 · Plausibility of series

# %%
sections.threshold_bunching(r)

# %%
sections.branch_breaks(r)

# %%
sections.first_loan_flags(r)

# %% [markdown]
# ## 4. 抽样复核清单 · Audit sample

# %%
sections.audit_sample(r, audit)

# %%
r.close()
