"""CCTA patches: a crop around each stenosis instance, resampled in physical space."""
