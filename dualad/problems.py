"""The built-in problems of :mod:`dualad.costs.problems`, under their short name.

>>> from dualad import problems
>>> problems.make("rosenbrock", n=100).n
100
"""

from .costs.problems import *  # noqa: F401,F403
from .costs.problems import __all__  # noqa: F401
