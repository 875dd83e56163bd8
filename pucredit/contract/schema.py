"""The input contract (docs/data-contract.md §4, §1.2): columns, Chinese aliases, types, enums.

This module is the one place that knows the columns; reading, validation,
the generator and the documentation all draw on it.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    alias: str
    kind: str  # text, date, number, integer, bool, enum
    required: bool = True
    meaning: str = ""
    enum: dict[str, str] = field(default_factory=dict)  # english code -> chinese label


BORROWER_TYPES = {
    "small_micro_enterprise": "小微企业",
    "individual_business": "个体工商户",
    "micro_owner": "小微企业主",
    "farmer": "农户",
    "agri_organization": "农民专业合作社/农村集体经济组织",
    "other_enterprise": "其他企业",
    "other_individual": "其他个人",
}
GUARANTEES = {"credit": "信用", "guarantee": "保证", "collateral": "抵押", "pledge": "质押"}
RISK_CLASSES = {
    "normal": "正常",
    "special_mention": "关注",
    "substandard": "次级",
    "doubtful": "可疑",
    "loss": "损失",
}
PRICING_BASES = {"lpr_1y": "LPR1年期", "lpr_5y": "LPR5年期以上", "fixed": "固定利率"}
PAYMENT_METHODS = {"entrusted": "受托支付", "self": "自主支付"}
REPAYMENTS = {
    "bullet": "到期还本",
    "amortizing": "等额本息",
    "equal_principal": "等额本金",
    "revolving": "随借随还",
}
# 三(六) and 三(四): the product a loan is (国家助学贷款, 脱贫人口小额信贷, 创业担保贷款).
PRODUCTS = {
    "general": "一般贷款",
    "student_loan": "国家助学贷款",
    "poverty_microloan": "脱贫人口小额信贷",
    "startup_guarantee": "创业担保贷款",
}
# GB/T 4754-2017 行业代码: a 门类 letter A-T or a 2-digit 大类 code 01-97 (checked on read, docs/data-contract.md §4).
INDUSTRY_CODE_PATTERN = "[A-T]|0[1-9]|[1-8][0-9]|9[0-7]"

# Further Chinese spellings seen in bank exports, mapped to the English code.
ENUM_SYNONYMS = {
    "borrower_type": {
        "农民专业合作社": "agri_organization",
        "农村集体经济组织": "agri_organization",
        "小型企业": "small_micro_enterprise",
        "微型企业": "small_micro_enterprise",
    },
    "pricing_base": {"1年期LPR": "lpr_1y", "5年期以上LPR": "lpr_5y", "LPR1Y": "lpr_1y", "LPR5Y": "lpr_5y", "固定": "fixed"},
    "payment_method": {"贷款人受托支付": "entrusted", "借款人自主支付": "self"},
    "guarantee": {"信用贷款": "credit", "保证贷款": "guarantee", "抵押贷款": "collateral", "质押贷款": "pledge"},
}

# 五(十) conduct (过度授信, 资金流向) and 四(七) 无贷户: optional columns read by pucredit.analyses.conduct.
CONDUCT_COLUMNS: tuple[Column, ...] = (
    Column("bureau_credit_line_cny", "征信授信总额", "number", required=False,
           meaning="the borrower's total credit lines at all lenders, from the credit reference report, yuan"),
    Column("bureau_lender_count", "授信机构数", "integer", required=False,
           meaning="how many lenders have granted the borrower credit (credit reference report)"),
    Column("annual_revenue_cny", "营业收入", "number", required=False,
           meaning="the borrower's last annual operating revenue, yuan"),
    Column("payment_method", "支付方式", "enum", required=False, enum=PAYMENT_METHODS,
           meaning="how the loan was paid out: entrusted (受托支付, to the borrower's counterparty) or self"),
    Column("is_first_bank_loan", "首次获得银行贷款标识", "bool", required=False,
           meaning="the borrower had no bank loan anywhere before this one (无贷户, notice 四(七))"),
)

TAPE_COLUMNS: tuple[Column, ...] = (
    Column("bank_id", "机构编码", "text", meaning="reporting bank; a tape may hold several banks"),
    Column("as_of", "数据日期", "date", meaning="snapshot date, a month end"),
    Column("loan_id", "借据编号", "text", meaning="unique within (bank_id, as_of)"),
    Column("borrower_id", "客户编号", "text", meaning="stable across months; pseudonymised on load"),
    Column("borrower_type", "客户类型", "enum", enum=BORROWER_TYPES, meaning="borrower type"),
    Column("is_business", "经营性贷款标识", "bool", meaning="operating (经营性) loan; consumer and housing loans are false"),
    Column("credit_line_cny", "单户授信总额", "number", meaning="the borrower's total credit line at this bank, yuan"),
    Column("amount_cny", "发放金额", "number", meaning="amount at origination, yuan"),
    Column("balance_cny", "贷款余额", "number", meaning="outstanding at as_of, yuan, >= 0"),
    Column("origination_date", "发放日期", "date", meaning="date the loan was made"),
    Column("maturity_date", "到期日期", "date", meaning="on or after origination_date"),
    Column("rate_pct", "执行利率", "number", meaning="contract annual rate in percent (3.95 means 3.95 %)"),
    Column("is_agri", "涉农贷款标识", "bool", meaning="agriculture-related (涉农) by the PBoC classification"),
    Column("is_first_loan", "首贷户标识", "bool", meaning="with this loan the borrower got its first loan ever"),
    Column("is_renewal", "续贷标识", "bool", meaning="renewal of a maturing loan (续贷, incl. 无还本续贷)"),
    Column("guarantee", "担保方式", "enum", enum=GUARANTEES, meaning="guarantee type"),
    Column("risk_class", "五级分类", "enum", enum=RISK_CLASSES, meaning="five-class risk classification"),
    Column("days_past_due", "逾期天数", "integer", meaning="days past due, >= 0"),
    Column("county_code", "县域代码", "text", meaning="6-digit administrative code of the borrower's county"),
    Column("pricing_base", "定价基准", "enum", required=False, enum=PRICING_BASES,
           meaning="absent: lpr_1y for terms up to 5 years, else lpr_5y"),
    Column("fee_third_party_cny", "第三方收费", "number", required=False,
           meaning="fees the borrower paid to third parties (guarantors, agents) for this loan, yuan"),
    Column("fee_bank_cny", "银行收费", "number", required=False, meaning="fees the borrower paid to the bank, yuan"),
    Column("repayment", "还款方式", "enum", required=False, enum=REPAYMENTS, meaning="repayment schedule"),
    Column("branch_id", "分支机构", "text", required=False, meaning="branch"),
    Column("is_poverty_area", "脱贫地区标识", "bool", required=False,
           meaning="borrower in an area lifted out of poverty (脱贫地区)"),
    Column("is_key_county", "重点帮扶县标识", "bool", required=False,
           meaning="borrower in a national key assistance county (国家乡村振兴重点帮扶县)"),
    Column("is_poverty_household", "脱贫人口小额信贷标识", "bool", required=False,
           meaning="micro-loan to a household lifted out of poverty"),
    Column("predecessor_loan_id", "上笔借据号", "text", required=False,
           meaning="for a renewal (续贷) or a loan that refinances another: the loan_id it replaces (一表通 6.27)"),
    # 三(四) priority sectors and 三(六) products (issue 17)
    Column("industry_code", "行业代码", "text", required=False,
           meaning="GB/T 4754 门类 letter (e.g. F) or 2-digit 大类 code of the borrower's industry"),
    Column("is_tech_sme", "科技型中小企业标识", "bool", required=False, meaning="technology-based SME (科技型中小企业)"),
    Column("is_specialized_sme", "专精特新标识", "bool", required=False, meaning="specialised and innovative SME (专精特新)"),
    Column("is_green", "绿色贷款标识", "bool", required=False, meaning="green loan (绿色贷款)"),
    Column("is_foreign_trade", "外贸企业标识", "bool", required=False, meaning="foreign-trade business (外贸)"),
    Column("product", "产品类型", "enum", required=False, enum=PRODUCTS,
           meaning="general, student_loan (国家助学贷款), poverty_microloan (脱贫人口小额信贷), startup_guarantee"),
    *CONDUCT_COLUMNS,  # 五(十) conduct and 四(七) 无贷户
)

TOTALS_COLUMNS: tuple[Column, ...] = (
    Column("bank_id", "机构编码", "text", meaning="reporting bank"),
    Column("as_of", "数据日期", "date", meaning="month end"),
    Column("total_loans_cny", "各项贷款余额", "number", meaning="all loans outstanding, yuan"),
    Column("total_npl_cny", "各项贷款不良余额", "number", meaning="all non-performing loans, yuan"),
    Column("county_loans_cny", "县域贷款余额", "number", required=False, meaning="loans in counties, yuan"),
    Column("county_deposits_cny", "县域存款余额", "number", required=False, meaning="deposits in counties, yuan"),
    Column("agri_loans_cny", "涉农贷款余额", "number", required=False,
           meaning="all agri-related loans, yuan, when the tape does not hold every agri loan"),
    Column("writeoffs_cny", "核销", "number", required=False, meaning="loans written off in the month, yuan"),
)

# A bank_id names folders under the report root (docs/data-contract.md §14): letters, digits, '-' and '_', at most
# 64 characters, not starting with '_' or '.' (the report root's own folders start with '_').
BANK_ID_PATTERN = "[A-Za-z0-9-][A-Za-z0-9_-]*"  # no braces: rule conditions go through str.format
BANK_ID_MAX_LENGTH = 64
BANK_ID_ACCEPTED = "letters A-Z/a-z, digits, '-' and '_', at most 64 characters, not starting with '_' or '.'"

# Dates outside these years are misreads (a year 0000, a 9999-12-31 "open end"), not loans.
YEAR_MIN, YEAR_MAX = 1900, 2200

# Largest plausible magnitudes (docs/data-contract.md §10, rule out_of_range): all Chinese banks' loans
# together are about 2.5e14 yuan; beyond these a value is a misread, and sums of it overflow.
MAX_CNY = 1e15
MAX_RATE_PCT = 1000.0
MAX_DAYS_PAST_DUE = 36525  # 100 years

# A number as text (docs/data-contract.md §17 numbers): a thousands separator only between groups of three digits,
# so 4,35 or 6955,09 (decimal commas) and 1_000 are errors, not 435, 695509 and 1000.
THOUSANDS_SEPARATORS = (",", "，", " ", "\u00a0", "\u202f")
_GROUPED = "|".join(f"[0-9]{{1,3}}(?:{sep}[0-9]{{3}})+" for sep in THOUSANDS_SEPARATORS)
NUMBER_PATTERN = (f"[+-]?(?:[¥￥] ?)?(?:(?:{_GROUPED})(?:\\.[0-9]+)?"
                  "|(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")

TRUE_SPELLINGS = ("true", "1", "y", "yes", "t", "是")
FALSE_SPELLINGS = ("false", "0", "n", "no", "f", "否")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d")


def normalise_header(text: str) -> str:
    """Match key for a header: full-width to half-width (NFKC), spaces removed, lower case."""
    text = unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "")
    return "".join(text.split()).lower()


_FULL_WIDTH_ALNUM = re.compile("[０-９Ａ-Ｚａ-ｚ]")


def normalise_value(text: str) -> str | None:
    """Match key for an enum or yes/no value: as for a header, but a value with full-width digits or
    letters (``Ｙ``, ``１``) matches nothing (docs/data-contract.md §4: values use half-width ones)."""
    return None if _FULL_WIDTH_ALNUM.search(str(text)) else normalise_header(text)


def header_lookup(columns: tuple[Column, ...]) -> dict[str, str]:
    """Map every accepted spelling of a header to its canonical name."""
    lookup = {}
    for col in columns:
        lookup[normalise_header(col.name)] = col.name
        lookup[normalise_header(col.alias)] = col.name
    return lookup


def enum_lookup(col: Column) -> dict[str, str]:
    """Map every accepted spelling of an enum value (English code, Chinese label, synonyms) to the code."""
    lookup = {}
    for code, label in col.enum.items():
        lookup[normalise_header(code)] = code
        lookup[normalise_header(label)] = code
    for spelling, code in ENUM_SYNONYMS.get(col.name, {}).items():
        lookup[normalise_header(spelling)] = code
    return lookup


def value_limit(col: Column) -> float | None:
    """Largest plausible magnitude of a number column (by its unit), or None."""
    if col.name.endswith("_cny"):
        return MAX_CNY
    return {"rate_pct": MAX_RATE_PCT, "days_past_due": MAX_DAYS_PAST_DUE}.get(col.name)


def accepted_text(col: Column) -> str:
    """What a value of this column may look like, for error messages."""
    if col.kind == "enum":
        return ", ".join(f"{code} ({label})" for code, label in col.enum.items())
    if col.kind == "bool":
        return "true/false, 1/0, Y/N, 是/否"
    if col.kind == "date":
        return f"2024-06-30, 2024/6/30 or 20240630, years {YEAR_MIN} to {YEAR_MAX}"
    if col.kind == "number":
        return "a number such as 1250000 or 1,250,000.00 (a comma only between groups of three digits)"
    if col.kind == "integer":
        return "a whole number >= 0"
    return "text"


COLUMNS_BY_NAME = {c.name: c for c in TAPE_COLUMNS}
