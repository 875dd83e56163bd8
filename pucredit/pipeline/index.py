"""The front page of a report root, ``ROOT/index.html`` (docs/data-contract.md §17): every bank and period
with how its run ended, the headline of each target (notice 二(一) growth targets, 四(九) NPL tolerance: met,
missed or not binding, with the gap) and links to its reports and to the period's peer report.

It is rebuilt from what the root holds: the batch manifest (statuses, failures), every report folder
``ROOT/<bank_id>/<period>/`` (its metrics.json and HTML pages) and ``ROOT/_peers/<period>/peers.html``; and
written atomically (beside, then renamed) as each bank ends, like the manifest. Everything taken from a bank
file, a tape or a manifest is escaped; every link is relative and inside the root.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import re
import sys
from pathlib import Path
from urllib.parse import quote

from pucredit.config.paths import write_text_atomic
from pucredit.report.labels import catalogue, label

INDEX = "index.html"
GENERATOR = '<meta name="generator" content="pucredit">'  # marks the front pages pucredit may replace
PEERS_PAGE = ("_peers", "peers.html")  # ROOT/_peers/<period>/peers.html
REPORT_PAGES = "[0-9][0-9]_*.html"


def report_label(stem: str, lang: str) -> str:
    """A report's short name in the navigation and on the front page (``01_volume`` -> 01 保量)."""
    return label(f"page_report_{stem}", lang) if f"page_report_{stem}" in catalogue() else stem


def report_nav(lang: str, pages: list[str], current: str | None, index_href: str | None) -> str:
    """The navigation bar of one report: back to the front page, then the bank's reports in reading order."""
    from pucredit.report.pages import nav_bar

    links = [(label("page_index_link", lang), index_href)] if index_href else []
    links += [(report_label(Path(p).stem, lang), None if p == current else p) for p in pages]
    return nav_bar(lang, links)


def _href(*parts: str) -> str:
    return "/".join(quote(part, safe="") for part in parts)


def _bank_info(entry: dict | None, folder: Path | None) -> tuple[str, str]:
    """(name, lang): from the bank file named in the manifest, else from the report pages, else the id."""
    from pucredit.config.banks import load_bank

    if entry and entry.get("bank_file"):
        try:
            bank = load_bank(entry["bank_file"])
            return bank.name, bank.lang
        except Exception:  # a bank file that no longer loads: its id is shown
            pass
    for page in sorted(folder.glob(REPORT_PAGES)) if folder and folder.is_dir() else []:
        head = page.read_text(encoding="utf-8", errors="replace")[:20000]
        lang = re.search(r'<html lang="([^"]+)"', head)
        title = re.search(r"<title>(.*?) · ", head, re.S)  # report_title: "name（id） · heading · period"
        name = html.unescape(title.group(1)) if title else ""
        name = re.sub(r"\s*[（(][^（()）]*[）)]$", "", name)
        return name, "en" if lang and lang.group(1).startswith("en") else "zh"
    return "", "zh"


def _period_key(period: str):
    from pucredit.config.periods import parse_period

    try:
        return parse_period(period).end
    except Exception:
        return dt.datetime.min


def collect(root: Path, results: list[dict] = ()) -> dict[str, dict[str, dict]]:
    """period -> bank_id -> {entry, folder}: the manifest's entries, ``results`` (a run's, over the manifest)
    and every report folder found."""
    banks: dict[str, dict[str, dict]] = {}
    manifest = root / "manifest.json"
    entries = []
    if manifest.is_file():
        try:
            entries = json.loads(manifest.read_text(encoding="utf-8")).get("banks", [])
        except (OSError, ValueError):
            entries = []
    for entry in [*entries, *results]:
        if str(entry["bank_id"]) not in ("", "?"):  # a bank file that did not load names no bank
            banks.setdefault(str(entry["period"]), {})[str(entry["bank_id"])] = {"entry": entry}
    for metrics in root.glob("*/*/metrics.json"):
        bank_id, period = metrics.parts[-3], metrics.parts[-2]
        if not bank_id.startswith(("_", ".")) and not period.startswith("."):
            banks.setdefault(period, {}).setdefault(bank_id, {"entry": None})
    for period, rows in banks.items():
        for bank_id, row in rows.items():
            folder = root / bank_id / period
            row["folder"] = folder if (folder / "metrics.json").is_file() else None
    return banks


def bank_names(root: str | Path, period: str) -> dict[str, str]:
    """bank_id -> the bank's name for the reports of ``period`` under ``root`` (the manifest's bank files, else the
    report pages' titles); banks whose name is not known are left out. metrics.json carries no name."""
    rows = collect(Path(root).resolve()).get(period, {})
    names = {bank_id: _bank_info(row["entry"], row["folder"])[0] for bank_id, row in rows.items()}
    return {bank_id: name for bank_id, name in names.items() if name}


def _targets_cells(folder: Path | None, lang: str) -> list[str]:
    from pucredit.analyses.document import read_metrics
    from pucredit.analyses.peers import TARGETS, bank_targets

    if folder is None:
        return ["" for _ in TARGETS]
    try:
        targets = bank_targets(read_metrics(folder / "metrics.json"))
    except Exception:  # not a metrics.json this version reads
        return [html.escape(label("page_no_metrics", lang))] + ["" for _ in list(TARGETS)[1:]]
    cells = []
    for met, gap in targets.values():
        if met is None:
            cells.append(f'<span class="nb">{html.escape(label("page_target_not_binding", lang))}</span>')
            continue
        text = label("page_target_met" if met else "page_target_missed", lang,
                     gap="—" if gap is None else f"{gap:+.2f}")
        cells.append(f'<span class="{"met" if met else "missed"}">{html.escape(text)}</span>')
    return cells


def _status_cell(entry: dict | None, folder: Path | None, lang: str) -> str:
    status = (entry or {}).get("status", "ok")
    key = f"page_status_{status}"
    text = label(key, lang) if key in catalogue() else status
    out = f'<span class="status-{html.escape(status, quote=True)}">{html.escape(text)}</span>'
    if status not in ("ok", "pending") and entry:
        if entry.get("failed_notebook"):
            error = label("page_failed_in", lang, notebook=entry["failed_notebook"], cell=entry.get("failed_cell") or "?",
                          error=(entry.get("error") or "").splitlines()[0] if entry.get("error") else "")
        else:
            error = (entry.get("error") or "").splitlines()[0] if entry.get("error") else ""
        if error:
            out += f'<br><small class="error">{html.escape(error[:300])}</small>'
        if folder is not None:
            out += f'<br><small>{html.escape(label("page_previous_report", lang))}</small>'
    return out


def render(root: Path, results: list[dict] = (), now: dt.datetime | None = None) -> tuple[str, str]:
    """The front page as HTML text, and its language: each bank's row in the bank's language, headings in
    each language the banks use (Chinese first)."""
    from pucredit.analyses.peers import TARGETS

    now = now or dt.datetime.now(dt.timezone.utc)
    banks = collect(root, results)
    infos = {(p, b): _bank_info(row["entry"], row["folder"]) for p, rows in banks.items() for b, row in rows.items()}
    langs = sorted({lang for _, lang in infos.values()}, key=lambda x: x != "zh") or ["zh"]
    page_lang = langs[0] if len(langs) == 1 else "zh"

    def both(key: str, **values) -> str:  # a heading in each language the page's banks use
        return " · ".join(html.escape(label(key, lang, **values)) for lang in langs)

    updated = now.strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"<h1>{both('page_index_title')}</h1>", f"<p>{both('page_index_intro', updated=updated)}</p>"]
    for period in sorted(banks, key=_period_key, reverse=True):
        parts.append(f"<h2>{both('page_period', period=period)}</h2>")
        peers = root / PEERS_PAGE[0] / period / PEERS_PAGE[1]
        if peers.is_file():
            parts.append(f'<p><a href="{_href(PEERS_PAGE[0], period, PEERS_PAGE[1])}">{both("page_peers_link")}</a></p>')
        else:
            parts.append(f"<p>{both('page_peers_none')}</p>")
        head = [both("page_bank"), both("page_status"), *(" · ".join(html.escape(label(t, lang)) for lang in langs)
                                                          for t in TARGETS), both("page_reports")]
        rows = []
        for bank_id in sorted(banks[period]):
            row = banks[period][bank_id]
            name, lang = infos[(period, bank_id)]
            folder = row["folder"]
            who = f"{html.escape(name)}<br><small>{html.escape(bank_id)}</small>" if name else html.escape(bank_id)
            links = []
            if folder is not None:
                links = [f'<a href="{_href(bank_id, period, page.name)}">{html.escape(report_label(page.stem, lang))}</a>'
                         for page in sorted(folder.glob(REPORT_PAGES))]
            cells = [who, _status_cell(row["entry"], folder, lang), *_targets_cells(folder, lang), '<span class="links">' + " ".join(links) + "</span>"]
            rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")  # cells escaped above
        parts.append('<table class="pucredit-index"><thead><tr>' + "".join(f"<th>{h}</th>" for h in head)
                     + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    parts.append(f'<p class="pucredit-note">{both("page_targets_note")}</p>')
    title = both("page_index_title")
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8">{GENERATOR}<meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{title}</title>\n<style>{INDEX_CSS}</style>\n'
            f'</head><body class="jp-Notebook"><main class="jp-RenderedHTMLCommon">\n' + "\n".join(parts)
            + "\n</main></body></html>\n"), page_lang


INDEX_CSS = """
body { margin: 0; padding: 1.5em 2em; color: #222; line-height: 1.5; }
main { max-width: 1400px; }
table.pucredit-index { border-collapse: collapse; width: 100%; font-size: 14px; }
table.pucredit-index th, table.pucredit-index td { border-bottom: 1px solid #d0d4da; padding: 0.4em 0.6em; }
table.pucredit-index th { background: #f6f7f9; font-weight: 600; }
table.pucredit-index a { color: #1a5fb4; white-space: nowrap; margin-right: 0.8em; line-height: 1.9; }
.met { color: #1e7b34; } .missed { color: #b42318; font-weight: 600; } .nb { color: #777; }
.met, .missed, .nb, [class^="status-"] { white-space: nowrap; }
table.pucredit-index td:first-child { min-width: 9em; }
.status-failed, .status-bad_input { color: #b42318; font-weight: 600; } .status-pending { color: #9a6700; }
.error { color: #555; word-break: break-word; }
"""


def write_index(root: str | Path, results: list[dict] = ()) -> Path | None:
    """Rebuild ``ROOT/index.html`` from what the root holds (and a run's ``results``), atomically; an
    ``index.html`` that pucredit did not write (the user's own page) is left alone, with a warning."""
    from pucredit.report.pages import dress

    root = Path(root).resolve()
    target = root / INDEX
    if target.is_file() and GENERATOR not in target.read_text(encoding="utf-8", errors="replace")[:4096]:
        print(f"warning: {target} was not written by pucredit: left as it is, no front page", file=sys.stderr)
        return None
    page, lang = render(root, list(results))
    return write_text_atomic(target, dress(page, lang))
