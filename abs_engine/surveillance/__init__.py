"""Surveillance: the monthly cycle from servicer data to a trustee report.

The servicer reports each collection month's figures by grade
(:mod:`.servicer`: schema, reading, validation); :func:`surveil` runs the
deal's priority of payments on those actual collections (the trustee's
calculation), returns the state to re-project from, the base case
re-projected from it, actual against projected with statistical signals
(:mod:`.performance`) and the deal-level early warning
(:mod:`.early_warning`); :mod:`.report` writes the trustee report.
:func:`synthetic_servicer_history` draws seeded histories around the base
case, with noise and an optional deterioration (:mod:`.generate`).

>>> import abs_engine as ae  # doctest: +SKIP
>>> cycle = ae.surveil(deal, "servicer.parquet", tape="current_tape.parquet")  # doctest: +SKIP
>>> cycle.write("outputs/trustee-2016-03")  # doctest: +SKIP
"""

from abs_engine.surveillance.generate import (
    DEFAULT_ROLLS,
    BaseProjection,
    Deterioration,
    base_projection,
    projected_history,
    synthetic_servicer_history,
)
from abs_engine.surveillance.servicer import (
    DELINQUENCY_COLUMNS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    SERVICER_COLUMNS,
    ServicerHistory,
    as_servicer_history,
    load_servicer,
    validate_servicer,
    write_servicer,
)
from abs_engine.surveillance.surveil import Surveillance, surveil, trigger_table

__all__ = [
    "DEFAULT_ROLLS",
    "DELINQUENCY_COLUMNS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "SERVICER_COLUMNS",
    "BaseProjection",
    "Deterioration",
    "ServicerHistory",
    "Surveillance",
    "as_servicer_history",
    "base_projection",
    "load_servicer",
    "projected_history",
    "surveil",
    "synthetic_servicer_history",
    "trigger_table",
    "validate_servicer",
    "write_servicer",
]
