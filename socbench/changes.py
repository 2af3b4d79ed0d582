"""Score changes against a baseline: the one regression rule of the gate, the changes table and the scorecard."""

from __future__ import annotations

import math

#: Default tolerance: a score lower than its baseline's by more than this is a
#: regression, higher by more an improvement. ``socbench check --tolerance``
#: overrides it for the gate; the scorecard's changes table and comparison page
#: use it as written into the page (``templates/assets/scorecard.js``).
TOLERANCE = 0.02


def change_status(delta: float | None, tolerance: float = TOLERANCE) -> str:
    """``regressed``, ``improved`` or ``pass`` for a change ``new - baseline``; ``""`` when it is not a number.

    The comparison is on the change itself (``delta < -tolerance``), the number
    every table shows, so that the gate and the pages agree on the boundary.
    """
    if delta is None or not math.isfinite(delta):
        return ""
    if delta < -tolerance:
        return "regressed"
    return "improved" if delta > tolerance else "pass"
