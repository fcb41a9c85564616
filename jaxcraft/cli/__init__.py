"""The command line: `jaxcraft train | render | eval | demos | pretrain` (the top layer: nothing else
of jaxcraft imports it). `main` is the console script; `python -m jaxcraft.cli` runs it too."""
from jaxcraft.cli.main import main

__all__ = ["main"]
