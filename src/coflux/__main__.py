"""``python -m coflux``: the command line."""

from coflux.cli.main import main

main()
