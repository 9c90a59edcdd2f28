"""Gradient estimators; importing this package fills the registry."""

from reparax.estimators.measure_valued import measure_valued
from reparax.estimators.pathwise import pathwise
from reparax.estimators.score_function import rloo, score_function

__all__ = ["measure_valued", "pathwise", "rloo", "score_function"]
