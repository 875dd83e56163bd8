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
# # 06 普惠信贷服务报告 · Half-year inclusive credit service report
#
# 通知六（十四）· Notice clause 六(十四). Every number comes from the metrics document (metrics.json); each
# section is one call into `pucredit.report.sections.service` (text in `catalogue/service.yaml`).

# %% tags=["parameters"]
bank_file: str = "LB01"  # bank file: a name in parameters/banks/ or a path to a bank YAML
period: str = "2025H1"  # reporting period: 2024, 2024H1, 2024Q3 or 2024-05
lang: str = ""  # report language, zh or en; empty: the bank file's choice
policy: str = ""  # policy year or file; empty: the bank file's, else the period's year
context: str = ""  # set by pucredit run: the validated tape and metrics of this bank (empty: read the tape)
export_dir: str = ""  # folder for the summary table CSV; empty: nothing is written (pucredit run sets the report folder)

# %%
from pucredit.analyses import quality
from pucredit.report import context as report
from pucredit.report.sections import service as sections

r = report.setup(bank_file=bank_file, period=period, lang=lang, policy=policy, context=context)
plausibility = quality.plausibility_findings(quality.rule_counts(r.bank, until=r.period.end))
r.header()

# %%
sections.filing_due(r)

# %% [markdown]
# ## 一、总体情况 · Summary for the filing

# %%
sections.summary(r, plausibility, export_dir)

# %% [markdown]
# ## 二、保量：普惠信贷投放 · Volume

# %%
sections.volume(r)

# %% [markdown]
# ## 三、稳价：贷款价格与综合融资成本 · Pricing

# %%
sections.pricing(r)

# %% [markdown]
# ## 四、优结构：首贷、信用贷款与续贷 · Structure

# %%
sections.structure(r)

# %% [markdown]
# ## 五、风险：不良容忍度 · Risk tolerance

# %%
sections.risk(r)

# %% [markdown]
# ## 六、数据质量 · Data quality

# %%
sections.data_quality(r)

# %%
from pucredit.report.sections import priorities

priorities.disclosure(r)

# %%
r.close()
