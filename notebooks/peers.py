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
root: str = ""  # report root holding <bank_id>/<period>/metrics.json; empty: the demo banks' metrics, computed here
period: str = "2025H1"  # reporting period: 2024, 2024H1, 2024Q3 or 2024-05
anonymise: bool = False  # replace bank ids by letters (the key goes to export_dir, not into the report)
lang: str = "zh"  # report language, zh or en
export_dir: str = ""  # folder for peers.csv (and peers_key.csv when anonymised); empty: nothing is written
key_file: str = ""  # an earlier peers_key.csv whose letters are kept; empty: new letters

# %%
# Sections: pucredit/report/sections/peers.py; every heading and text: pucredit/report/catalogue/peers.yaml
from pucredit.report.sections import peers as sections

p = sections.setup(root=root, period=period, anonymise=anonymise, lang=lang, export_dir=export_dir, key_file=key_file)
frame, lang = p.frame, p.params.lang
p.header()

# %%
sections.targets(frame, p.outcome, lang)

# %%
sections.pricing_and_headroom(frame, lang)

# %%
sections.distributions(frame, lang)

# %%
sections.provenance(frame, lang)

# %%
sections.export(frame, p.key, p.params.export_dir, lang)
