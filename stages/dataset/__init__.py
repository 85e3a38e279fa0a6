"""Instance-level datasets: the HDF5 store, the torch Dataset and its collate."""
