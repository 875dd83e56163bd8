"""Screenshots of one bank's reports and the front page, as a reader's browser renders them (README "Reading
the reports"): headless Chromium (apt package ``chromium``), full page height, a fresh profile each time.

    python tools/screenshots.py ROOT OUTDIR [--bank RB01] [--period 2025H1] [--width 1280] [--pdf]

writes OUTDIR/index.png, OUTDIR/<bank>_<report>.png and OUTDIR/peers.png (when the period has a peer report); with ``--pdf`` also OUTDIR/<bank>_<period>.pdf, the
bank's reports printed to A4 in reading order (the print stylesheet), one file. Nothing here runs in CI; the
pipeline itself makes no PDF (a report root must not need a browser).
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--disable-extensions", "--mute-audio"]


def chromium(*args: str, timeout: int = 180) -> None:
    with tempfile.TemporaryDirectory(prefix="pucredit-chromium-") as profile:
        subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], check=True, timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def page_height(page: Path, width: int) -> int:
    """The rendered height of ``page`` at ``width`` px: a copy of it (everything is embedded) with a script that
    puts the laid-out height in the title, read back from Chromium's DOM, for a full-page shot."""
    with tempfile.TemporaryDirectory(prefix="pucredit-chromium-") as scratch:
        probe = Path(scratch) / "probe.html"
        script = ('<script>window.addEventListener("load",()=>setTimeout(()=>{document.title="H"+'
                  'document.documentElement.scrollHeight;},200));</script>')
        probe.write_text(page.read_text(encoding="utf-8").replace("</body>", script + "</body>", 1), encoding="utf-8")
        out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={scratch}/profile", f"--window-size={width},800",
                              "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                             capture_output=True, text=True, timeout=180).stdout
    found = re.search(r"<title>H(\d+)</title>", out)
    return int(found.group(1)) if found else 8000


def screenshot(page: Path, png: Path, width: int) -> None:
    height = min(page_height(page, width) + 20, 60000)
    chromium(f"--window-size={width},{height}", f"--screenshot={png.resolve()}", "--virtual-time-budget=10000",
             page.resolve().as_uri())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="a report root (the --out of pucredit run, batch or demo)")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--bank", default="RB01")
    parser.add_argument("--period", default="2025H1")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--pdf", action="store_true", help="also the bank's reports printed to one A4 PDF")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"needs {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
        return 2
    folder = args.root / args.bank / args.period
    pages = sorted(folder.glob("[0-9][0-9]_*.html"))
    if not pages:
        print(f"no reports in {folder}", file=sys.stderr)
        return 2
    args.outdir.mkdir(parents=True, exist_ok=True)
    if (args.root / "index.html").is_file():
        screenshot(args.root / "index.html", args.outdir / "index.png", args.width)
        print(args.outdir / "index.png")
    for page in pages:
        png = args.outdir / f"{args.bank}_{page.stem}.png"
        screenshot(page, png, args.width)
        print(png)
    peers = args.root / "_peers" / args.period / "peers.html"
    if peers.is_file():
        screenshot(peers, args.outdir / "peers.png", args.width)
        print(args.outdir / "peers.png")
    if args.pdf:
        print(print_pdf(pages, args.outdir / f"{args.bank}_{args.period}.pdf"))
    return 0


def print_pdf(pages: list[Path], pdf: Path) -> Path:
    """The pages printed to one A4 PDF in order: their bodies joined into one document (each report from a new
    page, the first page's stylesheet, a font subset for the whole), printed once by Chromium."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from pucredit.report.pages import font_face

    texts = [p.read_text(encoding="utf-8") for p in pages]
    head = re.sub(r"@font-face \{[^}]*\}\n?", "", texts[0].split("<body", 1)[0])
    bodies = [re.search(r"<body\b[^>]*>(.*)</body>", t, re.S).group(1) for t in texts]
    joined = "".join(f'<div style="break-before: page">{b}</div>' if i else b for i, b in enumerate(bodies))
    document = head.replace("</head>", f"<style>{font_face(joined)}</style></head>", 1)
    document += f'<body class="jp-Notebook">{joined}</body></html>'
    with tempfile.TemporaryDirectory(prefix="pucredit-print-") as scratch:
        combined = Path(scratch) / "reports.html"
        combined.write_text(document, encoding="utf-8")
        chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf.resolve()}", "--virtual-time-budget=20000",
                 combined.as_uri(), timeout=600)
    return pdf


if __name__ == "__main__":
    sys.exit(main())
