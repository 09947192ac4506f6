"""A repository whose import fails."""

import coflux as cf


@cf.task
def never() -> None:
    pass


raise RuntimeError("this repository does not import")
