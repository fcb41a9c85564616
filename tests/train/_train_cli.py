"""Entry point for subprocess runs of the CLI in tests (same interpreter, same env)."""
import sys

from jaxcraft.cli import main

sys.exit(main(sys.argv[1:]))
