"""`python -m jaxcraft.cli ...` — the same as the `jaxcraft` console script."""
import sys

from jaxcraft.cli.main import main

sys.exit(main())
