"""`stenosis demo`: the whole pipeline on a small phantom cohort."""
