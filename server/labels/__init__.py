"""From judgments to labels: per-item and job-level consolidation passes, geometry labels, quality reports, and the feed that wakes label streams."""
