// The Training target: filled in by its own issue.
