"""jaxcraft: JAX-native RL for visuomotor agents in Minecraft-like 3D worlds."""
__version__ = "0.1.0"
