"""Shared test set-up: tiny configs, compiled trainers shared across tests."""
import os

# Tests run on the CPU; keep XLA from grabbing every core's thread pool per process.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
