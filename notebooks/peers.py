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
# # 同业比较 · Peer comparison for supervisors
#
# 多家银行同一报告期的 metrics.json 并列；可匿名化（以A、B……代替机构编码）后分发，对照表另存，不进入报告。Many banks' metrics.json for one period side by side; banks can be anonymised (letters A, B, … instead of bank ids), the key saved apart. Sections: pucredit/report/sections/peers.py; text: pucredit/report/catalogue/peers.yaml.

# %% tags=["parameters"]
root: str = ""  # report root holding <bank_id>/<period>/metrics.json; empty: the demo banks' metrics, computed here
period: str = "2025H1"  # reporting period: 2024, 2024H1, 2024Q3 or 2024-05
anonymise: bool = False  # replace bank ids by letters (the key goes to export_dir, not into the report)
lang: str = "zh"  # report language, zh or en
export_dir: str = ""  # folder for peers.csv (and peers_key.csv when anonymised); empty: nothing is written
key_file: str = ""  # an earlier peers_key.csv whose letters are kept; empty: new letters

# %%
from pucredit.report.sections import peers as sections

p = sections.setup(root=root, period=period, anonymise=anonymise, lang=lang, export_dir=export_dir, key_file=key_file)
frame, lang = p.frame, p.params.lang
p.header()

# %% [markdown]
# ## 1. 监管目标 · Targets

# %%
sections.targets(frame, p.outcome, lang)

# %% [markdown]
# ## 2. 价格、首贷与不良余量 · Pricing, first loans and NPL headroom

# %%
sections.pricing_and_headroom(frame, lang)

# %% [markdown]
# ## 3. 分布与离群值 · Distributions and outliers

# %%
sections.distributions(frame, lang)

# %% [markdown]
# ## 4. 数据质量与来源 · Data quality and provenance

# %%
sections.provenance(frame, lang)

# %%
sections.export(frame, p.key, p.params.export_dir, lang)
