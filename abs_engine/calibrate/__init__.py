"""Calibration: default, prepayment, recovery and roll-rate assumptions from a static-pool history.

The history has one row per receivable per month (see :mod:`.history` for the
columns); :func:`calibrate` validates it, estimates the curves by grade and
age with standard errors (:mod:`.estimate` states every estimator), smooths
them and returns a :class:`Calibration` whose ``.assumptions`` project
directly and whose ``.to_toml()`` writes them for deal specs.

>>> from abs_engine.calibrate import calibrate, synthetic_history
>>> cal = calibrate(synthetic_history(2_000, seed=3))
>>> list(cal.curves.columns[:5])
['grade', 'age', 'loans', 'exposure', 'defaulted_amount']
"""

from abs_engine.calibrate.calibration import Calibration, calibrate
from abs_engine.calibrate.estimate import CalibrationSettings
from abs_engine.calibrate.history import (
    HISTORY_COLUMNS,
    History,
    HistoryValidationError,
    load_history,
    validate_history,
)
from abs_engine.calibrate.synthetic import DEMO_ASSUMPTIONS, synthetic_history

__all__ = [
    "DEMO_ASSUMPTIONS",
    "HISTORY_COLUMNS",
    "Calibration",
    "CalibrationSettings",
    "History",
    "HistoryValidationError",
    "calibrate",
    "load_history",
    "synthetic_history",
    "validate_history",
]
