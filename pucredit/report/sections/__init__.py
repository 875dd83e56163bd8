"""One function per report section (finding, tables, figures), text from the message catalogue."""
