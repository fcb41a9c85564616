"""Shared test set-up: tiny configs, compiled trainers shared across tests."""
import os

# Tests run on the CPU; keep XLA from grabbing every core's thread pool per process.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# XLA's persistent compilation cache, shared by the xdist workers and the subprocesses tests start
# (the CLI, multi-device and multi-process tests compile the same programs again); `make test` sets
# the same directory.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".jax_cache"))
# Cache every compiled program, not only those over 1 s: the suite's many small programs (flax
# initialisers, eager ops in fixtures) recur across xdist workers and CLI subprocesses.
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
# Tests run tiny configs for a few steps: XLA:CPU's LLVM optimisation and its newer fusion emitters
# cost more compile time than they save run time there (results are the same programs' results;
# float-exact comparisons in the suite compare programs built with the same flags; the two tests
# that compare separately compiled programs run again under XLA's default: tests/_codegen.py).
from _codegen import DEFAULT_CODEGEN_XLA_FLAGS, SUITE_XLA_FLAGS, in_default_codegen  # noqa: E402

os.environ.setdefault("XLA_FLAGS", DEFAULT_CODEGEN_XLA_FLAGS if in_default_codegen() else SUITE_XLA_FLAGS)

