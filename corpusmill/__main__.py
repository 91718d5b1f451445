"""`python -m corpusmill ...` is the `corpusmill` command."""

import sys

from corpusmill.workflows.cli import main

if __name__ == "__main__":
    sys.exit(main())
