"""Build pucredit/report/fonts/NotoSansCJKsc-Regular-base.otf: the glyphs of the charts' Noto Sans CJK SC (from
the pinned mplfonts wheel) for pucredit.report.pages.base_characters(), from which each page's web font is cut.

    .venv/bin/python tools/build_font_base.py

Run it after changing base_characters() or the pinned mplfonts or fontTools; tests/unit/test_pages.py checks
that the shipped file holds exactly those characters' glyphs.
"""
from pucredit.report.pages import BASE_FONT, base_characters, font_path, subset_font


def main() -> None:
    BASE_FONT.parent.mkdir(parents=True, exist_ok=True)
    BASE_FONT.write_bytes(subset_font(str(font_path()), set(base_characters()), None))
    print(f"wrote {BASE_FONT} ({BASE_FONT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
