"""Cleaning of standard points: valid-point cleanup, yield-map filters and profiles, the cleaning report."""
