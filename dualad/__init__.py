"""dualad: exact derivatives of plain NumPy code.

Forward mode on dual numbers (``jvp``), reverse mode on a tape (``vjp``,
``grad``), and any nesting of the two (``hvp``, ``hessian``).  Write your
function with ordinary NumPy calls; dualad's values flow through them.

>>> import numpy as np, dualad as ad
>>> f = lambda x: np.sum(np.tanh(x) ** 2)
>>> x = np.array([0.3, -1.2]); v = np.ones(2)
>>> np.allclose(ad.hvp(f, x, v), ad.hessian(f)(x) @ v)
True
"""

from .api import (HVP_MODES, GradientLinearization, grad, hessian, hvp, jacfwd, jacrev, jvp,
                  linearize, linearize_grad, stop_gradient, tree_flatten, tree_unflatten,
                  value_and_grad, vjp)
from .batching import vmap
from .core import LeakedValueError
from .extend import Primitive, elementwise, register
from .custom import custom_jvp, custom_vjp
from .rules import all_primitives
from .checkpoint import checkpoint
from .staging import Replayed, replay
from .allocator import tune_allocator
from . import scipy  # noqa: F401  (dualad.scipy.special)
from . import sparse  # noqa: F401  (dualad.sparse: sparse Jacobians and Hessians)
from . import integrate  # noqa: F401  (dualad.integrate.solve_ivp with exact Jacobians)

__version__ = "0.1.0"

__all__ = ["jvp", "vjp", "grad", "value_and_grad", "hvp", "jacfwd", "jacrev",
           "hessian", "linearize", "linearize_grad", "GradientLinearization", "vmap",
           "tree_flatten", "tree_unflatten", "HVP_MODES", "stop_gradient", "custom_jvp", "custom_vjp",
           "Primitive", "elementwise", "register", "LeakedValueError",
           "all_primitives", "checkpoint", "tune_allocator", "replay", "Replayed"]
