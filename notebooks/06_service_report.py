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
export_dir: str = ""  # folder for the summary table CSV; empty: nothing is written (pucredit run sets the report folder)

# %%
# Sections: pucredit/report/sections/service.py; every heading and text: pucredit/report/catalogue/service.yaml
from pucredit.analyses import quality
from pucredit.report import context as report
from pucredit.report.sections import priorities
from pucredit.report.sections import service as sections

r = report.setup(bank_file=bank_file, period=period, lang=lang, policy=policy, context=context)
plausibility = quality.plausibility_findings(quality.rule_counts(r.bank, until=r.period.end))
r.header("svc")

# %%
sections.filing_due(r)

# %%
sections.summary(r, plausibility, export_dir)

# %%
sections.volume(r)

# %%
sections.pricing(r)

# %%
sections.structure(r)

# %%
sections.risk(r)

# %%
sections.data_quality(r)

# %%
priorities.disclosure(r)

# %%
r.close()
