"""Imitation: behaviour cloning of an experiment's network on demos (`pretrain.py`) and the check that
demos fit the experiment before anything is built (`demo_fit.py`)."""
