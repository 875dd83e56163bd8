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
# # 07 规范经营：过度授信、垒大户与资金流向 · Conduct: over-crediting, concentration, use of funds
#
# 通知五（十）。Notice clause 五(十). Each cell below is one section of `pucredit/report/sections/conduct.py`;
# its text is in `pucredit/report/catalogue/conduct.yaml`. The screens' thresholds are the policy file's
# `conduct` parameters.

# %% tags=["parameters"]
bank_file: str = "LB01"  # bank file: a name in parameters/banks/ or a path to a bank YAML
period: str = "2025H1"  # reporting period: 2024, 2024H1, 2024Q3 or 2024-05
lang: str = ""  # report language, zh or en; empty: the bank file's choice
policy: str = ""  # policy year or file; empty: the bank file's, else the period's year
context: str = ""  # set by pucredit run: the validated tape and metrics of this bank (empty: read the tape)

# %%
from pucredit.report import context as report
from pucredit.report.sections import conduct as sections

r = report.setup(bank_file=bank_file, period=period, lang=lang, policy=policy, context=context)
r.header()

# %%
sections.over_crediting(r)

# %%
sections.concentration(r)

# %%
sections.use_of_funds(r)

# %%
r.close()
