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
# # 04 不良容忍度与尽职免责 · NPL tolerance and due-diligence exemption
#
# 通知四（九）：将不良容忍与绩效考核、尽职免责有机结合，对在不良容忍度内、未违反法律法规和监管规定的机构和人员，减轻或免予追责。各业务的容忍度（高于各项贷款不良率的百分点数）是政策参数。
#
# Notice clause 四(九): tie NPL tolerance to performance reviews and exempt diligent staff. Each segment's tolerance (pp above the all-loan NPL ratio) is a policy parameter.

# %% tags=["parameters"]
bank_file: str = "LB01"  # bank file: a name in parameters/banks/ or a path to a bank YAML
period: str = "2025H1"  # reporting period: 2024, 2024H1, 2024Q3 or 2024-05
lang: str = ""  # report language, zh or en; empty: the bank file's choice
policy: str = ""  # policy year or file; empty: the bank file's, else the period's year
context: str = ""  # set by pucredit run: the validated tape and metrics of this bank (empty: read the tape)

# %%
from pucredit.report import context as report
from pucredit.report.sections import risk as sections

r = report.setup(bank_file=bank_file, period=period, lang=lang, policy=policy, context=context)
r.header()

# %% [markdown]
# ## 1. 容忍度与余量 · Tolerance and headroom

# %%
sections.tolerance(r)

# %% [markdown]
# ## 2. 分支机构 · Branches

# %%
sections.branches(r)

# %% [markdown]
# ## 3. 五级分类迁徙 · Five-class migration

# %%
sections.migrations(r)

# %% [markdown]
# ## 4. 不良生成与回转 · NPL formation and cures

# %%
sections.formation(r)

# %% [markdown]
# ## 5. 账龄分析 · Vintages

# %%
sections.vintages(r)

# %% [markdown]
# ## 6. 违约因素 · What drives default

# %%
sections.default_drivers(r)

# %% [markdown]
# ## 7. 压力测试 · How much worse before a breach

# %%
sections.stress(r)

# %% [markdown]
# ## 8. 尽职免责参考 · Basis for due-diligence exemption review

# %%
sections.due_diligence(r)

# %%
from pucredit.report.sections import priorities

priorities.writeoffs(r)

# %%
r.close()
