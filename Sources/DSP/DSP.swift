// The DSP target: filled in by its own issue.
