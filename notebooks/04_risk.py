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

# %%
# Sections: pucredit/report/sections/risk.py; every heading and text: pucredit/report/catalogue/risk.yaml
from pucredit.report import context as report
from pucredit.report.sections import priorities
from pucredit.report.sections import risk as sections

r = report.setup(bank_file=bank_file, period=period, lang=lang, policy=policy, context=context)
r.header("risk")

# %%
sections.tolerance(r)

# %%
sections.branches(r)

# %%
sections.migrations(r)

# %%
sections.formation(r)

# %%
sections.vintages(r)

# %%
sections.default_drivers(r)

# %%
sections.stress(r)

# %%
sections.due_diligence(r)

# %%
priorities.writeoffs(r)

# %%
r.close()
