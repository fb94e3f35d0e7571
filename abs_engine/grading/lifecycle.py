"""The scorecard's life cycle in one namespace (``ae.scorecard``): fit, validate, monitor.

>>> import abs_engine as ae
>>> history = ae.scorecard.synthetic_applications(20_000, seed=4)
>>> dev, test = ae.scorecard.split_sample(history, time_column="application_month")
>>> fitted = ae.scorecard.fit(dev, "default_flag")
>>> check = ae.scorecard.validate(fitted, test, "default_flag")
>>> drift = ae.scorecard.stability(fitted.scorecard, fitted.baseline, test)
>>> check.monotone, drift.status
(True, 'stable')

* :func:`fit` - monotone optimal binning, WoE and IV, logistic regression,
  points scaling, cut-offs (:mod:`abs_engine.grading.fitting`,
  :mod:`abs_engine.grading.binning`);
* :func:`validate` - AUC/Gini, KS, default rate by grade with Wilson
  intervals, calibration, IV (:mod:`abs_engine.grading.validation`);
* :func:`stability`, :func:`psi` - PSI of the score and CSI of every
  attribute with the 0.10 / 0.25 warnings (:mod:`abs_engine.grading.monitor`);
* :func:`synthetic_applications` - a labelled history from a known model
  (:mod:`abs_engine.grading.synthetic`).

The HTML validation report is :func:`abs_engine.reports.scorecard.validation_report`.
"""

from abs_engine.grading.binning import Binning, bin_attribute, iv_strength, woe_iv
from abs_engine.grading.fitting import CutoffRule, ScorecardFit, cutoffs_for, fit
from abs_engine.grading.monitor import (
    PSI_MONITOR,
    PSI_SHIFT,
    Baseline,
    Stability,
    psi,
    psi_table,
    stability,
    stability_status,
)
from abs_engine.grading.scorecard import Scaling, Scorecard, load_scorecard
from abs_engine.grading.synthetic import TRUE_MODEL, ApplicationModel, synthetic_applications
from abs_engine.grading.validation import (
    Validation,
    auc,
    ks,
    split_sample,
    validate,
    wilson_interval,
)

__all__ = [
    "PSI_MONITOR",
    "PSI_SHIFT",
    "TRUE_MODEL",
    "ApplicationModel",
    "Baseline",
    "Binning",
    "CutoffRule",
    "Scaling",
    "Scorecard",
    "ScorecardFit",
    "Stability",
    "Validation",
    "auc",
    "bin_attribute",
    "cutoffs_for",
    "fit",
    "iv_strength",
    "ks",
    "load_scorecard",
    "psi",
    "psi_table",
    "split_sample",
    "stability",
    "stability_status",
    "synthetic_applications",
    "validate",
    "wilson_interval",
    "woe_iv",
]
