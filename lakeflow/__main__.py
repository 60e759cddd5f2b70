"""``python -m lakeflow``: the same command line as the ``lakeflow`` script."""

from lakeflow.cli import main

if __name__ == "__main__":
    main()
