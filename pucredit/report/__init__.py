"""What a report shows: the per-bank report context, labels, formatting, figures and the service report."""
