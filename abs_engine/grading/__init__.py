"""Grading: the provident-fund scorecard, credit limits and early-warning monitoring.

>>> import abs_engine as ae
>>> from abs_engine import grading
>>> tape = ae.sample_pool(n=500, seed=2)
>>> graded = grading.grade(tape)                 # packaged default scorecard
>>> flags = grading.early_warning(graded)
>>> table = grading.flag_counts(flags, by=graded["grade"])
>>> list(table.index)
['A', 'B', 'C', 'Total']

Fitting, validating and monitoring a card from a labelled history live in
:mod:`abs_engine.grading.lifecycle` (``ae.scorecard``).
"""

from abs_engine.grading.early_warning import (
    FLAG_ANY,
    FLAG_INTERRUPTED,
    FLAG_PF_MISSING,
    FLAG_SPEND_SPIKE,
    FLAG_STATUS_CHANGES,
    FLAGS,
    SPEND_COLUMNS,
    EarlyWarningRules,
    default_multipliers,
    early_warning,
    flag_counts,
    watch_list,
)
from abs_engine.grading.scorecard import (
    DEFAULT_SCORECARD,
    CreditLimit,
    Factor,
    GradeLimit,
    Rule,
    Scaling,
    Scorecard,
    load_scorecard,
)
from abs_engine.grading.scoring import N_REASONS, OUTPUT_COLUMNS, REASON_COLUMNS, grade

__all__ = [
    "DEFAULT_SCORECARD",
    "FLAGS",
    "FLAG_ANY",
    "FLAG_INTERRUPTED",
    "FLAG_PF_MISSING",
    "FLAG_SPEND_SPIKE",
    "FLAG_STATUS_CHANGES",
    "N_REASONS",
    "OUTPUT_COLUMNS",
    "REASON_COLUMNS",
    "SPEND_COLUMNS",
    "CreditLimit",
    "EarlyWarningRules",
    "Factor",
    "GradeLimit",
    "Rule",
    "Scaling",
    "Scorecard",
    "default_multipliers",
    "early_warning",
    "flag_counts",
    "grade",
    "load_scorecard",
    "watch_list",
]
