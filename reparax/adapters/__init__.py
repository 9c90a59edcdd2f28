"""Adapters: NumPyro, TFP-on-JAX and distrax distributions (or any object with ``sample`` and
``log_prob``) as reparax distributions.

One function per library (:func:`from_numpyro`, :func:`from_tfp`, :func:`from_distrax`), so
a call says which parameterization conventions it reads and refuses an object from another
library by name; :func:`convert` dispatches on the object's module for code that takes any
of them. The families reparax has become native reparax distributions on the user's own
parameter arrays (every estimator applies); the rest fall back to :func:`wrap`, a generic
wrapper for any pytree with ``sample``/``log_prob`` (score function and RLOO; pathwise when
it is reparameterized or has a ``cdf``).

None of the three libraries is imported here: an object is recognized by the module its
class comes from, so reparax does not depend on them.
"""

from reparax.adapters._convert import adapter_hint, convert
from reparax.adapters._distrax import from_distrax
from reparax.adapters._numpyro import from_numpyro
from reparax.adapters._tfp import from_tfp
from reparax.adapters.wrapped import CDFReparameterized, SampleReparameterized, Wrapped, wrap

__all__ = [
    "CDFReparameterized",
    "SampleReparameterized",
    "Wrapped",
    "adapter_hint",
    "convert",
    "from_distrax",
    "from_numpyro",
    "from_tfp",
    "wrap",
]
