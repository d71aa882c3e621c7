"""The demo company: a simulated world, its ground truth, and each vendor's view of it."""
