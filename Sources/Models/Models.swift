// The Models target: filled in by its own issue.
