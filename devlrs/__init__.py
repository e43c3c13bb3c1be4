"""devlrs: a development xAPI Learning Record Store that can be told to fail.

It behaves like a strict LRS (modelled on the ADL reference LRS): batches are
stored whole or not at all, known ids get 409, invalid statements 400.  Start
it with ``python -m devlrs``; tests use :func:`devlrs.live.running_lrs`.
"""

from .app import DevLrs, DevLrsConfig, create_app, get_lrs
from .faults import (
    Delay,
    FailNext,
    FaultPlan,
    FaultPlanError,
    Faults,
    StoreThenFail,
    StoreThenHang,
)
from .live import LiveLrs, running_lrs
from .store import Store

__all__ = [
    "Delay",
    "DevLrs",
    "DevLrsConfig",
    "FailNext",
    "FaultPlan",
    "FaultPlanError",
    "Faults",
    "LiveLrs",
    "Store",
    "StoreThenFail",
    "StoreThenHang",
    "create_app",
    "get_lrs",
    "running_lrs",
]
