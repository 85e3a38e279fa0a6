"""Phantom CCTA cohort generator: the project's embedded default data set (``stenosis synth``)."""

from stages.synth.cohort import DEFAULT_GRADE_MIX, CohortSummary, generate_cohort
from stages.synth.lesions import GRADE_RANGES

__all__ = ["DEFAULT_GRADE_MIX", "GRADE_RANGES", "CohortSummary", "generate_cohort"]
