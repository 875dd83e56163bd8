"""One place for figures: Chinese fonts that render offline, one style, small chart helpers.

The CJK font is Noto Sans CJK SC from the mplfonts wheel, registered with
matplotlib's font manager (no download, no system fonts needed). mplfonts'
SimHei file is not used: its licence is not free.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.ticker import PercentFormatter

from pucredit.report.pages import font_path

CJK_FONT = "Noto Sans CJK SC"
# one colour per segment in every chart of every report (a segment a policy file adds gets a colour of its
# own chart); the county LDR and the NFRA national basis have their own
COLORS = {"inclusive_smb": "#c0392b", "inclusive_agri": "#27ae60", "total_loans": "#34495e",
          "agri_loans": "#16a085", "key_county": "#8e44ad", "poverty_area": "#d68910",
          "poverty_household": "#a04000", "national": "#7f8c8d", "national_nfra": "#2c3e50", "bank": "#c0392b",
          "county_ldr": "#2471a3"}


def setup() -> None:
    """Register the CJK font and set the house style (idempotent)."""
    if CJK_FONT not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(font_path()))
    plt.rcParams.update({
        "font.family": "sans-serif",
        "font.sans-serif": [CJK_FONT, "DejaVu Sans"],
        "axes.unicode_minus": False,  # the CJK font's minus sign is missing in some builds
        "figure.figsize": (9, 4.2),
        "figure.dpi": 100,
        "savefig.dpi": 120,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "legend.frameon": False,
    })


def percent_axis(ax, digits: int | None = None) -> None:
    """Label a fraction axis in percent (decimals chosen from the tick spacing unless given)."""
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=digits))


def month_labels(ax, dates) -> None:
    """Tick every month-end point with its own month (``2025-01`` for 2025-01-31, not the next month)."""
    ax.set_xticks(list(dates))
    ax.set_xticklabels([f"{d:%Y-%m}" for d in dates])
