"""When a failed or abandoned execution is tried again, and after how long."""

from __future__ import annotations

from coflux import protocol


def retry_delay(policy: protocol.RetryOptions | None, attempt: int) -> float | None:
    """The delay before the next attempt after attempt number ``attempt`` failed.

    The delay rises linearly from ``delay_min`` (before the first retry) to
    ``delay_max`` (before the last one).

    Returns:
        Seconds to wait, or None when no retry is left (or none is allowed).
    """
    if policy is None or attempt > policy.limit:
        return None
    if policy.limit == 1:
        return policy.delay_min
    fraction = (attempt - 1) / (policy.limit - 1)
    return policy.delay_min + (policy.delay_max - policy.delay_min) * fraction
