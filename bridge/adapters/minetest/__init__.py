"""Minetest behind the bridge: processes (Xvfb + client), X input, frames, task scenes.

`bridge.adapters.minetest_env` is the simulator; these modules are its parts. The Lua world
mod ships as package data in `mod/jaxcraft_bridge/`.
"""
