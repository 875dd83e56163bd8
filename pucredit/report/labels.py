"""Chinese and English labels for reports, from one table; ``lang`` chooses (zh default)."""
from __future__ import annotations

from functools import cache
from pathlib import Path

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
    "group": ("业务类别（互斥）", "Group (exclusive)"),
    "agri_not_smb": ("普惠型涉农贷款中不属于普惠型小微的部分", "Inclusive agri loans that are not also small-micro"),
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
    # peer comparison measures (pucredit.peers.MEASURES) and targets
    "inclusive_smb_growth": ("普惠型小微贷款增速", "Inclusive small-micro growth"),
    "total_loans_growth": ("各项贷款增速", "All-loan growth"),
    "inclusive_smb_growth_gap_pp": ("普惠型小微增速差（百分点）", "Small-micro growth gap (pp)"),
    "inclusive_agri_growth": ("普惠型涉农贷款增速", "Inclusive agri growth"),
    "inclusive_agri_growth_gap_pp": ("普惠型涉农增速差（百分点）", "Agri growth gap (pp)"),
    "key_county_growth": ("重点帮扶县贷款增速", "Key-county growth"),
    "poverty_area_growth": ("脱贫地区贷款增速", "Poverty-area growth"),
    "inclusive_smb_balance_cny": ("普惠型小微贷款余额", "Inclusive small-micro balance"),
    "inclusive_smb_new_rate_pct": ("新发放普惠型小微贷款利率（%）", "New small-micro rate (%)"),
    "inclusive_smb_new_spread_pp": ("较LPR加点（百分点）", "Spread over LPR (pp)"),
    "inclusive_smb_new_allin_rate_pct": ("综合融资成本（%）", "All-in cost (%)"),
    "passthrough_long_run": ("LPR长期传导系数", "Long-run LPR pass-through"),
    "first_loan_share": ("首贷户占比", "First-loan share"),
    "first_loan_borrowers": ("首贷户数", "First-loan borrowers"),
    "new_credit_share": ("新发放信用贷款占比", "Credit loans in new lending"),
    "inclusive_smb_npl_ratio": ("普惠型小微不良率", "Small-micro NPL ratio"),
    "total_npl_ratio": ("各项贷款不良率", "All-loan NPL ratio"),
    "inclusive_smb_npl_headroom_pp": ("不良容忍度余量（百分点）", "NPL headroom (pp)"),
    "quality_errors": ("校验错误数", "Validation errors"),
    "quality_warnings": ("校验警告数", "Validation warnings"),
    "npl_tolerance": ("普惠型小微不良容忍度", "Small-micro NPL tolerance"),
    "agri_npl_tolerance": ("普惠型涉农不良容忍度", "Inclusive agri NPL tolerance"),
}

# validation rules and plausibility checks (pucredit.validate, pucredit.quality)
RULE_LABELS: dict[str, tuple[str, str]] = {
    "missing_value": ("必填值缺失", "required value missing"),
    "bad_date": ("日期无法识别", "unreadable date"),
    "bad_number": ("数值无法识别", "unreadable number"),
    "bad_integer": ("整数无法识别", "unreadable whole number"),
    "bad_bool": ("是否标识无法识别", "unreadable yes/no"),
    "bad_enum": ("取值不在约定范围", "value not accepted"),
    "not_month_end": ("数据日期不是月末", "snapshot not at a month end"),
    "negative_balance": ("贷款余额为负", "negative balance"),
    "nonpositive_amount": ("发放金额不为正", "amount not positive"),
    "negative_credit_line": ("授信额度为负", "negative credit line"),
    "negative_days_past_due": ("逾期天数为负", "negative days past due"),
    "maturity_before_origination": ("到期日早于发放日", "maturity before origination"),
    "originated_after_snapshot": ("发放日晚于数据日期", "originated after the snapshot"),
    "negative_rate": ("执行利率为负", "negative rate"),
    "rate_implausible": ("执行利率高于36%", "rate above 36 %"),
    "rate_below_one_pct": ("执行利率低于1%（疑为小数）", "rate below 1 % (a fraction?)"),
    "balance_above_credit_line": ("余额超过授信额度", "balance above the credit line"),
    "amount_above_credit_line": ("发放金额超过授信额度", "amount above the credit line"),
    "risk_class_vs_days_past_due": ("逾期90天以上仍为正常或关注", "90+ days past due but performing"),
    "county_code_format": ("县域代码不是6位", "county code not 6 digits"),
    "after_lpr_table": ("发放日超出LPR表范围", "originated after the LPR table"),
    "negative_fee": ("收费为负", "negative fee"),
    "duplicate_key": ("借据重复", "duplicate loan snapshot"),
    "origination_changed": ("发放要素在各期不一致", "origination facts change between snapshots"),
    "first_loan_not_first": ("首贷标识与客户历史不符", "first-loan flag against the borrower's history"),
    "rate_as_fraction": ("利率按小数填报", "rates given as fractions"),
    "unknown_columns": ("不在约定内的列", "columns not in the contract"),
    "totals_month_missing": ("汇总文件缺少月份", "totals month missing"),
    "tape_above_totals": ("明细余额超过汇总", "tape above the totals"),
    "farmer_business_not_agri": ("农户经营性贷款未标涉农", "farmer's operating loan not flagged agri"),
    "enterprise_not_business": ("企业贷款未标经营性", "enterprise loan not flagged operating"),
    "rate_far_below_lpr": ("新发放利率明显低于LPR", "new loan priced far below the LPR"),
    "rate_above_lpr_multiple": ("新发放利率超过LPR的倍数上限", "new loan above the LPR multiple"),
    "poverty_household_over_limit": ("脱贫人口小额信贷超出金额或期限", "poverty-household loan over the amount or term limit"),
    "negative_total": ("各项贷款为负", "negative total loans"),
    "npl_above_total": ("不良超过各项贷款", "NPL above total loans"),
    "ragged_row": ("行的列数不对", "row with the wrong number of fields"),
    "negative_bureau_value": ("征信授信、授信机构数或营业收入为负", "negative bureau credit, lender count or revenue"),
    "bureau_line_below_own_line": ("征信授信总额低于本行授信", "bureau credit below this bank's line"),
    "bad_bank_id": ("机构编码不可用", "unusable bank id"),
    "future_snapshot": ("数据日期晚于今天", "snapshot date in the future"),
    "out_of_range": ("数值超出合理范围或编码丢失位数", "value out of range, or a code that lost digits"),
    "blank_line": ("空行（已跳过）", "blank line (skipped)"),
    "predecessor_not_in_tape": ("上笔借据不在数据中", "predecessor loan not in the tape"),
    "duplicate_column": ("列重复", "column given twice"),
    "missing_column": ("缺少必填列", "required column missing"),
    "missing_file": ("文件不存在", "file not found"),
    "empty": ("文件无数据行", "no data rows"),
    "not_text": ("文件不是文本", "not a text file"),
    "unreadable": ("文件无法读取", "file cannot be read"),
    "industry_code_format": ("行业代码格式不对", "industry code not a GB/T 4754 letter or 2-digit code"),
    "negative_writeoffs": ("核销金额为负", "negative write-offs"),
    "any": ("任一检查", "any check"),
}


def rule_label(rule: str, lang: str = "zh") -> str:
    """A validation rule or plausibility check in words (the code itself when the table lacks it)."""
    zh, en = RULE_LABELS.get(rule, (rule, rule))
    return zh if lang == "zh" else en


BORROWER_TYPE_LABELS_EN = {
    "small_micro_enterprise": "Small/micro enterprise", "individual_business": "Individual business",
    "micro_owner": "Small-business owner", "farmer": "Farmer", "agri_organization": "Agri co-op/collective",
    "other_enterprise": "Other enterprise", "other_individual": "Other individual",
}


CATALOGUE_DIR = Path(__file__).with_name("catalogue")


@cache
def catalogue() -> dict[str, tuple[str, str]]:
    """LABELS above and every catalogue/*.yaml (``key: {zh: ..., en: ...}``); a key defined twice is refused."""
    import yaml

    merged = dict(LABELS)
    for path in sorted(CATALOGUE_DIR.glob("*.yaml")):
        for key, text in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            if key in merged:
                raise ValueError(f"{path.name}: message {key!r} is defined twice in the catalogue")
            merged[key] = (text["zh"], text["en"])
    return merged


def label(key: str, lang: str = "zh", **values) -> str:
    """The text of ``key`` in ``lang`` (zh or en), its ``{placeholders}`` filled from ``values``; an unknown
    key is a bug, not a silent fallback."""
    zh, en = catalogue()[key]
    text = zh if lang == "zh" else en
    return text.format(**values) if values else text


def borrower_type_label(code: str, lang: str = "zh") -> str:
    from pucredit.contract.schema import BORROWER_TYPES

    return BORROWER_TYPES.get(code, code) if lang == "zh" else BORROWER_TYPE_LABELS_EN.get(code, code)


def value_label(column: str, value, lang: str = "zh") -> str:
    """A code as a reader should see it: enum codes in Chinese (zh) or plain English, segments by name."""
    from pucredit.contract.schema import COLUMNS_BY_NAME

    if column == "borrower_type":
        return borrower_type_label(value, lang)
    if column in COLUMNS_BY_NAME and COLUMNS_BY_NAME[column].enum:
        return COLUMNS_BY_NAME[column].enum.get(value, value) if lang == "zh" else str(value).replace("_", " ")
    if value in catalogue():
        return label(value, lang)
    return str(value)
