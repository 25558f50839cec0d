"""The orders of steps: pure functions from the graph and options to a plan."""
