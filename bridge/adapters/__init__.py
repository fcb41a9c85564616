"""Adapters: turn simulators (gymnasium envs, Crafter, MineRL, load/null sims) into `Simulator`s.

Crafter and MineRL are optional extras and are imported only by their own modules.
"""
