"""The plug-in board: plain name → factory maps. Imports nothing of jaxcraft.

    ENVS          "gymnax:" (prefix), "jaxcraft:world", "jaxcraft:tasks", …    factory(config) -> (env, params)
    NETS          "mlp", "cnn", "world_cnn", "goal_cnn"       factory(net_config, obs_space, action_space) -> module
    BRIDGED_ENVS  "bridge:crafter", "bridge:gym:" (prefix), … factory(config) -> BridgedEnv
    TEACHERS      "expert", "servo", "servo_resolved"         factory() -> Teacher

A name ending in ':' is a prefix id: it matches every longer name that starts with it
(`gymnax:CartPole-v1`, `bridge:gym:Pendulum-v1`). Registration is explicit: each built-in
package has a `registration.py` with a `register(…)` function that `jaxcraft.build` calls;
your own package does the same before building (`jaxcraft.registry.ENVS.register(...)`).
"""
from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

F = TypeVar("F", bound=Callable)


class UnknownName(LookupError):
    """A name that no factory is registered under (the message lists the known ones)."""


class Registry(Generic[F]):
    """name → factory, with prefix ids (names ending in ':')."""

    def __init__(self, kind: str):
        self.kind = kind
        self._factories: dict[str, F] = {}

    def register(self, name: str, factory: F) -> None:
        """Register (or replace) `factory` under an exact name or a `prefix:`."""
        if not name:
            raise ValueError(f"{self.kind} names must be non-empty")
        self._factories[name] = factory

    def lookup(self, name: str) -> F:
        """The factory of `name`: an exact id first, then the longest matching prefix id."""
        if name in self._factories and not name.endswith(":"):   # a prefix alone is not an id
            return self._factories[name]
        prefixes = [p for p in self._factories if p.endswith(":") and name.startswith(p) and len(name) > len(p)]
        if prefixes:
            return self._factories[max(prefixes, key=len)]
        raise UnknownName(f"{name!r} is not a registered {self.kind}; known: {', '.join(self.names()) or '(none)'}")

    def names(self) -> list[str]:
        """Registered ids, prefixes shown as `prefix:<id>`."""
        return sorted(n + ("<id>" if n.endswith(":") else "") for n in self._factories)

    def __contains__(self, name: str) -> bool:
        try:
            self.lookup(name)
        except UnknownName:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._factories))


ENVS: Registry = Registry("env")
NETS: Registry = Registry("net kind")
BRIDGED_ENVS: Registry = Registry("bridged env")
TEACHERS: Registry = Registry("teacher")
