"""`python -m legacyrun` runs the same CLI as the console script."""

from legacyrun.cli import main

if __name__ == "__main__":
    main()
