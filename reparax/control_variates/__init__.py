"""Control variates (for every estimator linear in f) and baselines (score-function family).

``control_variate=`` takes a :class:`ControlVariate` (``delta_method(f)``, ``muprop(f)`` or
your own) and applies to ``pathwise``, ``score_function``, ``rloo``, ``measure_valued``,
``indecater``, ``arm`` and ``disarm`` alike; ``cv_coefficient`` is β, or ``"optimal"``.
Baselines (``moving_average``, ``learned_baseline``) enter the score function as
``baseline=``.
"""

from reparax.control_variates._apply import ControlVariate
from reparax.control_variates.baselines import (
    LearnedBaseline,
    MovingAverage,
    MovingAverageState,
    learned_baseline,
    moving_average,
)
from reparax.control_variates.taylor import delta_method, muprop
from reparax.control_variates.training import (
    VarianceTrainer,
    VarianceTrainerState,
    variance_trainer,
)

__all__ = [
    "ControlVariate",
    "LearnedBaseline",
    "MovingAverage",
    "MovingAverageState",
    "delta_method",
    "learned_baseline",
    "moving_average",
    "muprop",
    "variance_trainer",
    "VarianceTrainer",
    "VarianceTrainerState",
]
