"""Baselines that are not the CFR network."""
