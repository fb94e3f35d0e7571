"""Credit policy to funding: regrade a book under other cut-offs and re-run the deal.

>>> from abs_engine.policy import Policy
>>> Policy("tighter", thresholds=(600, 560), min_score=520).name
'tighter'

See :func:`policy_whatif` (``ae.policy_whatif``).
"""

from abs_engine.policy.whatif import (
    CURRENT,
    Policy,
    PolicyWhatIf,
    implied_assumptions,
    policy_whatif,
)

__all__ = ["CURRENT", "Policy", "PolicyWhatIf", "implied_assumptions", "policy_whatif"]
