// The NN target: filled in by its own issue.
