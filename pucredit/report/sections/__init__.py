"""One module per report notebook; one function per section, each returning a pucredit.report.section.Section."""
