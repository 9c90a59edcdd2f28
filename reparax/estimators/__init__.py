"""Gradient estimators: one module per estimator, each defining one ``rx.Estimator`` value.

The modules are not re-exported here (so ``reparax.estimators.score_function`` stays the
module); the values are ``rx.pathwise``, ``rx.score_function``, ... and the registry
(``reparax._registry.BUILTIN``) lists them in order.
"""
