"""Report sections: one function per notebook section, each returning a pucredit.report.section.Section."""
