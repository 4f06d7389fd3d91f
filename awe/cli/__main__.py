"""`python -m awe.cli` runs the `awe` command."""

from awe.cli.app import main

main()
