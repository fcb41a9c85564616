"""jaxcraft.ppo — a reusable, jittable PPO (imports nothing else of jaxcraft).

    from jaxcraft import ppo
    adv, target = ppo.generalized_advantage_estimation(r_t, v_t, v_T, term_t, trunc_t, v_final_t, 0.99, 0.95)
    update = ppo.make_update_fn(apply_fn, ppo.categorical(n), optimizer, ppo.PPOConfig(), chunk_len=1)
    carry, out = ppo.Acting(apply_fn, ppo.categorical(n)).step(params, None, carry, obs, reset, keys)  # one policy step
"""
from jaxcraft.ppo.acting import Acting, Network, StepOut, check_network
from jaxcraft.ppo.config import ConfigError, PPOConfig, describe, documented
from jaxcraft.ppo.distributions import FactorisedCategorical, categorical, multi_discrete
from jaxcraft.ppo.gae import generalized_advantage_estimation
from jaxcraft.ppo.hl_gauss import HLGauss
from jaxcraft.ppo.losses import (approx_kl, clipped_surrogate_loss, global_mean, kl_coefficient, log_ratio,
                                 normalize_advantages, value_loss)
from jaxcraft.ppo.update import (PPOBatch, PPOState, check_batch_layout, init_ppo_state, make_optimizer,
                                 make_update_fn, resolve_chunk_len)
from jaxcraft.ppo.value_norm import ValueNormState, denormalize, init_value_norm, normalize, update_value_norm

__all__ = [
    "Acting", "Network", "StepOut", "check_network",
    "ConfigError", "PPOConfig", "describe", "documented",
    "FactorisedCategorical", "categorical", "multi_discrete",
    "generalized_advantage_estimation", "HLGauss",
    "approx_kl", "clipped_surrogate_loss", "global_mean", "kl_coefficient", "log_ratio",
    "normalize_advantages", "value_loss",
    "PPOBatch", "PPOState", "check_batch_layout", "init_ppo_state", "make_optimizer", "make_update_fn",
    "resolve_chunk_len",
    "ValueNormState", "denormalize", "init_value_norm", "normalize", "update_value_norm",
]
