"""Test-suite fixtures shared by the tests in this folder.

A toy estimator is registered here with one line, as a user would add their own, so that the
registry-driven parts of the suite (``rx.methods()``, the methods table, ``auto``'s
candidates, the contract suite) are shown to pick up a new estimator with no other edit.
"""

from __future__ import annotations

import reparax as rx
from tests.toy_estimator import toy_score_function

TOY = rx.register(toy_score_function)
