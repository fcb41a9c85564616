"""Flax networks implementing the `jaxcraft.ppo` actor-critic contract."""
from jaxcraft.nets.actor_critic import ActorCritic
from jaxcraft.nets.encoders import CNNEncoder, DictEncoder, MLPEncoder
from jaxcraft.nets.goal import GoalConditionedActorCritic
from jaxcraft.nets.recurrent import ResetGRU

__all__ = ["ActorCritic", "CNNEncoder", "DictEncoder", "GoalConditionedActorCritic", "MLPEncoder", "ResetGRU"]
