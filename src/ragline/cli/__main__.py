"""``python -m ragline.cli …`` runs the ``ragline`` command (tests and tools use it)."""

from ragline.cli import main

if __name__ == "__main__":
    main()
