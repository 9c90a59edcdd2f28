"""Control variates and baselines for the score-function family (and REBAR/RELAX helpers)."""

from reparax.control_variates.baselines import (
    LearnedBaseline,
    MovingAverage,
    MovingAverageState,
    learned_baseline,
    moving_average,
)
from reparax.control_variates.taylor import ControlVariate, delta_method, muprop

__all__ = [
    "ControlVariate",
    "LearnedBaseline",
    "MovingAverage",
    "MovingAverageState",
    "delta_method",
    "learned_baseline",
    "moving_average",
    "muprop",
]
