"""An independent reference model of the collateral and the deal waterfall.

Plain Python (floats, lists, dicts, one loop over months or payment dates),
written from the rule book ``docs/waterfall.md`` and the SIFMA Standard
Formulas (1999), not from ``abs_engine/deal`` or ``abs_engine/projection``.
It shares no code with them: it reads only the *input* value objects
(``Deal``, ``Cohorts``, ``Assumptions``) field by field.

* :mod:`reference.pool` -- a tiny collateral model (a few cohorts, four
  payment types, constant or vector MDR/SMM by age or by period, severity and
  recovery lag, the SIFMA order of events);
* :mod:`reference.calendar` -- payment dates, day counts and which pool months
  each payment date collects;
* :mod:`reference.waterfall` -- the priority of payments, one scenario at a
  time, step by step as the rule book lists them (choices the rule book leaves
  open are marked ``READING:``);
* :mod:`reference.spec` -- the reference's view of a deal, read field by field
  from an ``abs_engine`` ``Deal`` (and back, so each case is written once);
* :mod:`reference.cases` -- the hand-worked deals of issue 10, whose figures are
  worked in ``test_waterfall.py``;
* :mod:`reference.compare` -- engine against reference, every field and period;
* :mod:`reference.random_deals` -- hypothesis strategies and the invariants.

The engine is held to this model in ``tests/deal/test_reference_*.py``.
"""
