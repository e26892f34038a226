// The AudioIO target: filled in by its own issue.
