"""Gradient estimators; importing this package fills the registry."""

from reparax.estimators.coupling import arm, disarm
from reparax.estimators.enumeration import exact, indecater
from reparax.estimators.measure_valued import measure_valued
from reparax.estimators.pathwise import pathwise
from reparax.estimators.rebar_relax import rebar, rebar_init, relax, relax_init
from reparax.estimators.relaxation import (
    gumbel_rao,
    gumbel_softmax,
    reinmax,
    st_gumbel_softmax,
    straight_through,
)
from reparax.estimators.score_function import rloo, score_function

__all__ = [
    "arm",
    "disarm",
    "exact",
    "gumbel_rao",
    "gumbel_softmax",
    "indecater",
    "measure_valued",
    "pathwise",
    "rebar",
    "rebar_init",
    "relax",
    "relax_init",
    "reinmax",
    "rloo",
    "score_function",
    "st_gumbel_softmax",
    "straight_through",
]
