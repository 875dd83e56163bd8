"""Report sections: one function per notebook section, each returning a Section (finding, tables, figures)."""
