"""Chinese and English labels for reports, from one table; ``lang`` chooses (zh default)."""
from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    # segments
    "inclusive_smb": ("普惠型小微企业贷款", "Inclusive small-micro loans"),
    "inclusive_agri": ("普惠型涉农贷款", "Inclusive agri loans"),
    "total_loans": ("各项贷款", "All loans"),
    "key_county": ("重点帮扶县贷款", "Key assistance county loans"),
    "poverty_area": ("脱贫地区贷款", "Poverty-area loans"),
    "poverty_household": ("脱贫人口小额信贷", "Poverty-household micro-loans"),
    # measures
    "balance": ("余额", "Balance"),
    "balance_base": ("上年末余额", "Balance at previous year end"),
    "balance_end": ("期末余额", "Balance at period end"),
    "growth_ytd": ("较年初增速", "Growth year to date"),
    "growth_yoy": ("同比增速", "Growth year on year"),
    "gap_pp": ("增速差（百分点）", "Growth gap (pp)"),
    "target_met": ("是否达标", "Target met"),
    "borrowers": ("有贷款余额户数", "Borrowers with a balance"),
    "borrowers_last_year": ("上年同期户数", "Borrowers a year earlier"),
    "extra_needed": ("年末需新增余额", "Extra balance needed by year end"),
    "projected_total_growth": ("按当前节奏预计全年各项贷款增速", "All-loan growth for the year at the current pace"),
    "share": ("占比", "Share"),
    "change": ("增减", "Change"),
    "tenor_band": ("期限", "Tenor"),
    "guarantee": ("担保方式", "Guarantee"),
    "first_or_repeat": ("首贷与否", "First or repeat loan"),
    "line_band": ("单户授信额度（元）", "Credit line (yuan)"),
    "repayment": ("还款方式", "Repayment"),
    "segment": ("业务类别", "Segment"),
    "other": ("其他贷款", "Other loans"),
    "all": ("全部新发放贷款", "All new loans"),
    "first": ("首贷", "first loan"),
    "repeat": ("非首贷", "repeat borrower"),
    "national_growth": ("全国增速", "National growth"),
    "bank_growth_yoy": ("本行同比增速", "Bank growth (yoy)"),
    "basis": ("统计口径", "Basis"),
    "measure": ("增速类型", "Measure"),
    "status": ("数据状态", "Status"),
    "month": ("月份", "Month"),
    "branch_id": ("分支机构", "Branch"),
    "county_code": ("县域代码", "County"),
    "borrower_type": ("客户类型", "Borrower type"),
    "county_ldr": ("县域存贷比", "County loan-to-deposit ratio"),
    "county_loans": ("县域贷款余额", "County loans"),
    "county_deposits": ("县域存款余额", "County deposits"),
    "bank": ("本行", "This bank"),
    "national": ("全国", "National"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "not_applicable": ("不适用", "not applicable"),
    "unit_100m_cny": ("亿元", "100 million yuan"),
    "unit_10k_cny": ("万元", "10 thousand yuan"),
    "unit_pct": ("%", "%"),
    # national series
    "pboc_basis": ("人民银行口径（单户授信小于1000万元）", "PBoC basis (credit line below 10 million)"),
    "nfra_basis": ("金融监管总局口径（单户授信1000万元及以下）", "NFRA basis (credit line 10 million and below)"),
    # report header
    "report_bank": ("机构", "Bank"),
    "report_period": ("报告期", "Period"),
    "report_policy": ("政策年度", "Policy year"),
    "report_tape": ("数据文件 SHA-256", "Data SHA-256"),
    "report_version": ("pucredit 版本", "pucredit version"),
    "report_generated": ("生成时间", "Generated"),
    "report_totals": ("各项贷款口径", "Total loans from"),
    "totals_file": ("机构汇总文件", "the totals file"),
    "tape": ("贷款明细（全部贷款）", "the tape (all loans)"),
}

BORROWER_TYPE_LABELS_EN = {
    "small_micro_enterprise": "Small/micro enterprise", "individual_business": "Individual business",
    "micro_owner": "Small-business owner", "farmer": "Farmer", "agri_organization": "Agri co-op/collective",
    "other_enterprise": "Other enterprise", "other_individual": "Other individual",
}


def label(key: str, lang: str = "zh") -> str:
    """The label of ``key`` in ``lang`` (zh or en); an unknown key is a bug, not a silent fallback."""
    zh, en = LABELS[key]
    return zh if lang == "zh" else en


def borrower_type_label(code: str, lang: str = "zh") -> str:
    from .schema import BORROWER_TYPES

    return BORROWER_TYPES.get(code, code) if lang == "zh" else BORROWER_TYPE_LABELS_EN.get(code, code)


def value_label(column: str, value, lang: str = "zh") -> str:
    """A code as a reader should see it: enum codes in Chinese (zh) or plain English, segments by name."""
    from .schema import COLUMNS_BY_NAME

    if column == "borrower_type":
        return borrower_type_label(value, lang)
    if column in COLUMNS_BY_NAME and COLUMNS_BY_NAME[column].enum:
        return COLUMNS_BY_NAME[column].enum.get(value, value) if lang == "zh" else str(value).replace("_", " ")
    if value in LABELS:
        return label(value, lang)
    return str(value)
