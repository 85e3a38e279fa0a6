"""Inference: a checkpoint grades the instances of a dataset file -> predictions table."""
