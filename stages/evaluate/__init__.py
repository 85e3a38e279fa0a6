"""Metrics and reports over prediction tables."""
