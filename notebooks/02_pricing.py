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
# # 02 稳价：贷款定价与LPR · Pricing against the LPR
#
# 通知二（二）：根据贷款市场报价利率（LPR）合理确定普惠型小微企业贷款、涉农贷款利率水平；规范与第三方合作，引导降低收费水平；加强服务价格披露，确保小微企业、涉农经营主体了解其实际承担的融资成本。
#
# Notice clause 二(二): price inclusive small-micro and agri loans off the LPR; control third-party fees; disclose the borrower's real financing cost.

# %% tags=["parameters"]
bank_file: str = "LB01"  # bank file: a name in parameters/banks/ or a path to a bank YAML
period: str = "2025H1"  # reporting period: 2024, 2024H1, 2024Q3 or 2024-05
lang: str = ""  # report language, zh or en; empty: the bank file's choice
policy: str = ""  # policy year or file; empty: the bank file's, else the period's year
context: str = ""  # set by pucredit run: the validated tape and metrics of this bank (empty: read the tape)

# %%
from pucredit.report import context as report
from pucredit.report.sections import pricing as sections

r = report.setup(bank_file=bank_file, period=period, lang=lang, policy=policy, context=context)
r.header()

# %% [markdown]
# ## 1. 新发放贷款利率 · New-loan rates against the LPR

# %%
sections.new_rates(r)

# %% [markdown]
# ## 2. 利差分布 · How far above the LPR

# %%
sections.spreads(r)

# %% [markdown]
# ## 3. LPR传导 · How fast and how fully LPR changes pass through

# %%
sections.passthrough(r)

# %% [markdown]
# ## 4. 综合融资成本 · What borrowers really pay

# %%
sections.all_in_cost(r)

# %% [markdown]
# ## 5. 定价因素 · What drives the spread

# %%
sections.spread_drivers(r)

# %%
r.close()
