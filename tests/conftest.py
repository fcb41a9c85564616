"""Shared test set-up: tiny configs, compiled trainers shared across tests."""
import os

# Tests run on the CPU; keep XLA from grabbing every core's thread pool per process.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# XLA's persistent compilation cache, shared by the xdist workers and the subprocesses tests start
# (the CLI, multi-device and multi-process tests compile the same programs again); `make test` sets
# the same directory.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".jax_cache"))
