"""When a failed, abandoned or timed-out execution is tried again, and after how long."""

from __future__ import annotations

from coflux import protocol


def retry_delay(
    policy: protocol.RetryOptions | None, attempt: int, outcome: protocol.Outcome | None = None
) -> float | None:
    """The delay before the next attempt after try number ``attempt`` ended with ``outcome``.

    Tries are counted from the step's first failure in a row (see
    ``outcomes.failures_in_a_row``): a recurrence or a resumption starts afresh.

    A limited policy's delay rises linearly from ``delay_min`` (before the first
    retry) to ``delay_max`` (before the last one). An unlimited one
    (``limit=None``) doubles from ``delay_min`` up to ``delay_max``: upstream
    Coflux picks a random delay in that range, which a pure core cannot.

    A failure whose error is not ``retryable`` (the step's retry filter refused
    it, in the executor) is never retried.

    Returns:
        Seconds to wait, or None when no retry is left (or none is allowed).
    """
    if policy is None:
        return None
    if isinstance(outcome, protocol.Failed) and not outcome.error.retryable:
        return None
    if policy.limit is None:
        return min(policy.delay_max, policy.delay_min * 2.0 ** min(attempt - 1, 64))
    if attempt > policy.limit:
        return None
    if policy.limit == 1:
        return policy.delay_min
    fraction = (attempt - 1) / (policy.limit - 1)
    return policy.delay_min + (policy.delay_max - policy.delay_min) * fraction
