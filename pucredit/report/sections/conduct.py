"""Sections of the conduct report, 07 规范经营 (notice 五(十): 防止过度授信, 资金流向筛查; 垒大户), and the
无贷户 section of 03 (notice 四(七)).

Headline numbers are read from ``r.doc.conduct``; distributions and lists come from
:mod:`pucredit.analyses.conduct`. A section whose optional column is absent says so in one line.
"""
from __future__ import annotations

import pandas as pd

from pucredit.analyses import conduct
from pucredit.report.context import Report, pct, yuan_10k, yuan_100m
from pucredit.contract.schema import COLUMNS_BY_NAME
from pucredit.report.labels import label, value_label
from pucredit.report.section import Section, Table, titled

TOP_BRANCHES = 10
TOP_LOANS = 20


def _t(r: Report, key: str, **values) -> str:
    return label(key, r.lang, **values)


def _pct(value, digits: int = 1) -> str:
    return pct(value, digits) or "—"


def _pct_cell(value, digits: int = 1) -> str:
    return "—" if value is None or pd.isna(value) else f"{value * 100:.{digits}f}"


def _text(value) -> str:
    """A group name from the tape (a branch), "—" when blank."""
    return "—" if value is None or pd.isna(value) else str(value)


def _pp_cell(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:+.2f}"


def _absent(r: Report, columns: tuple[str, ...]) -> Section | None:
    """The one-line section for a tape without the columns a screen needs (None when one is there)."""
    if any(r.bank.has(c) for c in columns):
        return None
    names = [COLUMNS_BY_NAME[c].alias if r.lang == "zh" else c for c in columns]
    key = "cd_absent" if len(names) == 1 else "cd_absent_any"
    return Section(_t(r, key, columns=_t(r, "cd_list_separator").join(names)))


def _parameter_note(r: Report, name: str) -> str:
    """The policy parameter behind a screen and its status; its source is in the policy file (in Chinese and
    English there, so an English report does not quote it)."""
    rule = getattr(r.policy.conduct, name)
    return _t(r, "cd_parameter_note", name=name, value=f"{rule.value:g}", status=_t(r, f"cd_status_{rule.status}"))


def _product(r: Report, product: str) -> str:
    """``credit / bullet`` (pucredit.analyses.conduct.product_sql) in the report's words."""
    guarantee, repayment = product.split(" / ")
    return f"{value_label('guarantee', guarantee, r.lang)} / {value_label('repayment', repayment, r.lang)}"


def _limit(value: float) -> str:
    return f"{value / 1e4:,g}"


# ---------------------------------------------------------------- §1 过度授信

@titled("cd_over_heading")
def over_crediting(r: Report) -> Section:
    """Inclusive small-micro balance held by borrowers with many lenders or with credit above a multiple of their
    revenue, and the distribution of lender counts (notice 五(十): 合理确定授信额度，防止过度授信)."""
    absent = _absent(r, conduct.BUREAU_COLUMNS)
    if absent:
        return absent
    c = r.doc.conduct
    parts = []
    if c.multi_lender_balance_share is not None:
        parts.append(_t(r, "cd_over_multi", n=c.multi_lender_min_count, share=_pct(c.multi_lender_balance_share)))
    if c.over_revenue_balance_share is not None:
        parts.append(_t(r, "cd_over_revenue", multiple=f"{c.over_revenue_multiple:g}",
                        share=_pct(c.over_revenue_balance_share)))
    finding = _t(r, "cd_over_finding", screens=_t(r, "cd_and").join(parts)) if parts else _t(r, "cd_over_none")
    notes = [_t(r, note) for key, note in (("multi_lender_balance_share", "cd_no_lender_count"),
                                           ("over_revenue_balance_share", "cd_no_revenue")) if c.get(key) is None]
    tables = []
    dist = conduct.lender_distribution(r.bank, r.period.end)
    if len(dist):
        lenders = [f"{n}+" if n == conduct.LENDER_BUCKETS else str(n) for n in dist.index]
        tables.append(Table(_t(r, "cd_lenders_caption"), pd.DataFrame({
            _t(r, "cd_col_lenders"): lenders,
            _t(r, "cd_col_borrowers"): [f"{n:,}" for n in dist["borrowers"]],
            _t(r, "cd_col_borrower_share"): dist["borrower_share"].map(_pct_cell).to_numpy(),
            _t(r, "cd_col_balance_100m"): dist["balance_cny"].map(yuan_100m).to_numpy(),
            _t(r, "cd_col_balance_share"): dist["balance_share"].map(_pct_cell).to_numpy()}),
            note=_t(r, "cd_coverage_note", share=_pct(c.bureau_coverage_share))))
    notes += [_parameter_note(r, "multi_lender_min_count"), _parameter_note(r, "over_revenue_multiple")]
    return Section(finding, tables=tuple(tables), notes=tuple(notes))


# ---------------------------------------------------------------- §2 垒大户

@titled("cd_conc_heading")
def concentration(r: Report) -> Section:
    """Share of inclusive small-micro balance held by the largest 1 % and 10 % of borrowers at the period's start
    and end, for the bank and by branch (notice 五(十); 垒大户)."""
    c = r.doc.conduct
    if c.top10_end_balance_share is None:
        return Section(_t(r, "cd_conc_none"))
    finding = _t(r, "cd_conc_finding", top1=_pct(c.top1_end_balance_share), top10=_pct(c.top10_end_balance_share),
                 top1_start=_pct(c.top1_start_balance_share), top10_start=_pct(c.top10_start_balance_share),
                 change=_pp_cell(c.top10_balance_share_change_pp))
    tables = [Table(_t(r, "cd_conc_caption"), _concentration_frame(r, conduct.concentration_change(r.bank, r.period)))]
    notes = []
    if r.bank.has("branch_id"):
        by_branch = conduct.concentration_change(r.bank, r.period, "branch_id")
        shown = by_branch.head(TOP_BRANCHES)
        note = _t(r, "cd_cut_note", shown=len(shown), total=len(by_branch)) if len(by_branch) > len(shown) else ""
        tables.append(Table(_t(r, "cd_conc_branch_caption", top=TOP_BRANCHES),
                            _concentration_frame(r, shown, branch=True), note=note))
    else:
        notes.append(_t(r, "cd_no_branch"))
    notes.append(_t(r, "cd_conc_note"))
    return Section(finding, tables=tuple(tables), notes=tuple(notes))


def _concentration_frame(r: Report, frame: pd.DataFrame, branch: bool = False) -> pd.DataFrame:
    columns = {_t(r, "branch_id"): [_text(b) for b in frame.index]} if branch else {}
    columns.update({
        _t(r, "cd_col_borrowers_end"): frame["borrowers_end"].map(lambda n: "—" if pd.isna(n) else f"{int(n):,}"),
        _t(r, "cd_col_balance_end_100m"): frame["balance_cny_end"].map(lambda v: yuan_100m(v) or "—"),
    })
    for p in conduct.TOP_PERCENTS:
        columns[_t(r, "cd_col_top_start", p=p)] = frame[f"top{p}_share_start"].map(_pct_cell)
        columns[_t(r, "cd_col_top_end", p=p)] = frame[f"top{p}_share_end"].map(_pct_cell)
        columns[_t(r, "cd_col_top_change", p=p)] = frame[f"top{p}_change_pp"].map(_pp_cell)
    return pd.DataFrame({k: list(v) for k, v in columns.items()})


# ---------------------------------------------------------------- §3 资金流向

@titled("cd_funds_heading")
def use_of_funds(r: Report) -> Section:
    """The share of new inclusive small-micro lending paid out by the borrower itself (自主支付), by product and
    branch, and the self-paid loans above the policy amount (notice 五(十): 建立贷后资金用途监控, 资金流向筛查)."""
    absent = _absent(r, ("payment_method",))
    if absent:
        return absent
    c = r.doc.conduct
    if c.self_paid_amount_share is None:
        return Section(_t(r, "cd_funds_none"))
    finding = _t(r, "cd_funds_finding", share=_pct(c.self_paid_amount_share), n=f"{c.self_paid_above_max_count:,}",
                 limit=_limit(c.self_paid_max_cny), amount=yuan_10k(c.self_paid_above_max_cny))
    tables, notes = [], []
    for by, caption in (("product", "cd_funds_product_caption"), ("branch_id", "cd_funds_branch_caption")):
        if by == "branch_id" and not r.bank.has("branch_id"):
            notes.append(_t(r, "cd_no_branch"))
            continue
        frame = conduct.self_paid(r.bank, r.period, by)
        shown = frame.head(TOP_BRANCHES) if by == "branch_id" else frame
        note = _t(r, "cd_cut_note", shown=len(shown), total=len(frame)) if len(frame) > len(shown) else ""
        tables.append(Table(_t(r, caption, top=TOP_BRANCHES), pd.DataFrame({
            _t(r, f"cd_col_{by}"): [_product(r, p) if by == "product" else _text(p) for p in shown.index],
            _t(r, "cd_col_loans"): [f"{n:,}" for n in shown["loans"]],
            _t(r, "cd_col_amount_10k"): shown["amount_cny"].map(yuan_10k).to_numpy(),
            _t(r, "cd_col_self_share"): shown["self_share"].map(_pct_cell).to_numpy()}), note=note))
    above = conduct.self_paid_above(r.bank, r.period)
    if len(above):
        shown = above.head(TOP_LOANS)
        tables.append(Table(_t(r, "cd_above_caption", limit=_limit(c.self_paid_max_cny)), pd.DataFrame({
            _t(r, "cd_col_loan_id"): shown["loan_id"].astype(str).to_numpy(),
            _t(r, "branch_id"): shown["branch_id"].fillna("—").astype(str).to_numpy(),
            _t(r, "cd_col_origination"): pd.to_datetime(shown["origination_date"]).dt.strftime("%Y-%m-%d").to_numpy(),
            _t(r, "cd_col_amount_10k"): shown["amount_cny"].map(yuan_10k).to_numpy(),
            _t(r, "cd_col_product"): [_product(r, p) for p in shown["product"]]}),
            note=_t(r, "cd_cut_note", shown=len(shown), total=len(above)) if len(above) > len(shown) else ""))
    notes.append(_parameter_note(r, "self_paid_max_cny"))
    return Section(finding, tables=tuple(tables), notes=tuple(notes))


# ---------------------------------------------------------------- 无贷户 (03, notice 四(七))

@titled("cd_nbl_heading")
def no_bank_loan(r: Report) -> Section:
    """Inclusive small-micro borrowers of the period who got their first bank loan anywhere (无贷户 served,
    notice 四(七): 加大对无贷户的服务力度), beside the bank's own first-loan flag."""
    absent = _absent(r, ("is_first_bank_loan",))
    if absent:
        return absent
    c, first = r.doc.conduct, r.doc.first_loans
    if c.no_bank_loan_share is None:
        return Section(_t(r, "cd_nbl_none"))
    finding = _t(r, "cd_nbl_finding", borrowers=f"{first.borrowers_originated:,}",
                 n=f"{c.no_bank_loan_borrowers_count:,}", share=_pct(c.no_bank_loan_share),
                 first=f"{first.first_loan_borrowers:,}")
    return Section(finding, notes=(_t(r, "cd_nbl_note"),))
