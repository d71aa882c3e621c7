"""The demo company: deterministic data for all four sources plus its ground truth."""
