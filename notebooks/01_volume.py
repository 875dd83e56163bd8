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
# # 01 保量：普惠信贷投放目标 · Volume targets
#
# 通知二（一）、三（五）· Notice clauses 二(一), 三(五). Each section below is one call into
# `pucredit.report.sections.volume` (text in `pucredit/report/catalogue/volume.yaml`).

# %% tags=["parameters"]
bank_file: str = "LB01"  # bank file: a name in parameters/banks/ or a path to a bank YAML
period: str = "2025H1"  # reporting period: 2024, 2024H1, 2024Q3 or 2024-05
lang: str = ""  # report language, zh or en; empty: the bank file's choice
policy: str = ""  # policy year or file; empty: the bank file's, else the period's year
context: str = ""  # set by pucredit run: the validated tape and metrics of this bank (empty: read the tape)

# %%
from pucredit.report import context as report
from pucredit.report.sections import volume as sections

r = report.setup(bank_file=bank_file, period=period, lang=lang, policy=policy, context=context)
r.header()

# %% [markdown]
# ## 1. 增速目标 · Growth targets

# %%
sections.growth_targets(r)

# %% [markdown]
# ## 2. 月度走势 · Month by month

# %%
sections.growth_path(r)

# %% [markdown]
# ## 3. 距年末目标的缺口 · What the year end needs

# %%
sections.year_end_gap(r)

# %% [markdown]
# ## 4. 服务户数 · Borrowers

# %%
sections.borrowers(r)

# %% [markdown]
# ## 5. 县域存贷比 · County loan-to-deposit ratio

# %%
sections.county_ldr(r)

# %% [markdown]
# ## 6. 结构 · Where the inclusive small-micro book is

# %%
sections.structure(r)

# %% [markdown]
# ## 7. 与全国对比 · Beside the national figures

# %%
sections.national(r)

# %%
from pucredit.report.sections import priorities

priorities.priority_sectors(r)

# %%
priorities.support_groups(r)

# %%
r.close()
