"""Input and output: volumes (SimpleITK), world/index geometry, CSV tables, HDF5 artifacts."""
