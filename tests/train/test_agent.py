"""One agent assembly (issue 32, item 2): both trainers build theirs with `make_agent`, and the
`Trainer` protocol's `params(state)` / `policy(state)`.

Oracles: flax's own `init` and `apply` of the network, called directly (the params an agent makes,
the greedy action a policy takes); the state's params field; the protocol's members.
"""
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from bridge.crossview import ObservationSchema
from jaxcraft.build import make_network, make_trainer
from jaxcraft.config import GoalNetConfig, NetConfig, load_experiment
from jaxcraft.envs.spaces import Box, Discrete, MultiDiscrete, schema_spaces
from jaxcraft.train.agent import Spaces, init_network, make_agent
from jaxcraft.train.trainer import Trainer
from jaxcraft.world import actions as A

BRIDGED = pathlib.Path(__file__).parents[1] / "bridged" / "_bridged_tiny_experiment.py"


def _check_params_and_policy(trainer, state, obs):
    assert isinstance(trainer, Trainer)
    params = trainer.params(state)
    assert params is state.ppo.params
    action, carry = trainer.policy(state).act(obs)
    _, logits, _ = trainer.network.apply(params, trainer.network.initial_carry(len(obs)), jnp.asarray(obs)[None],
                                         jnp.ones((1, len(obs)), bool))
    np.testing.assert_array_equal(action, np.argmax(np.asarray(logits[0]), -1))


def test_the_fused_trainer_is_assembled_by_its_agent(tiny_trainer):
    config, trainer = tiny_trainer
    agent = trainer.agent
    assert (trainer.dist, trainer.acting, trainer.learner, trainer.loops) == (agent.dist, agent.acting, agent.learner,
                                                                             agent.loops)
    key = jax.random.key(5)
    zero = jnp.zeros((1, 1, 4), jnp.float32)   # CartPole: float32[4]
    direct = trainer.network.init(key, trainer.network.initial_carry(1), zero, jnp.ones((1, 1), bool))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), trainer.init_params(key), direct)
    assert jax.tree.structure(agent.params_like()) == jax.tree.structure(direct)
    state = trainer.init(jax.random.key(0))
    _check_params_and_policy(trainer, state, np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32))


def test_the_bridged_trainer_is_assembled_by_its_agent():
    config = load_experiment(BRIDGED)
    trainer = make_trainer(config)   # no simulator starts before the first `run`
    try:
        agent = trainer.agent
        assert agent.host_loop and not agent.loops.scan_updates   # one jitted update per call, always
        assert (trainer.dist, trainer.acting, trainer.learner) == (agent.dist, agent.acting, agent.learner)
        shape = tuple(trainer.env.observation_space.shape)
        state = trainer.init(jax.random.key(0))
        direct = trainer.network.init(jax.random.split(jax.random.key(0), 3)[0], trainer.network.initial_carry(1),
                                      jnp.zeros((1, 1) + shape, trainer.env.observation_space.dtype),
                                      jnp.ones((1, 1), bool))
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), trainer.params(state), direct)
        obs = np.random.default_rng(1).uniform(0, 1, size=(3,) + shape).astype(trainer.env.observation_space.dtype)
        _check_params_and_policy(trainer, state, obs)
    finally:
        trainer.close()


def test_an_agent_initialises_on_zeros_of_its_spaces(tiny_trainer):
    config, trainer = tiny_trainer
    spaces = Spaces({"x": Box(-1.0, 1.0, (3,), jnp.float32), "n": Discrete(4)}, Discrete(2))
    assert jax.tree.map(lambda x: (x.shape, x.dtype), spaces.sample()) == {"x": ((1, 1, 3), jnp.float32),
                                                                           "n": ((1, 1), jnp.int32)}
    # a JAX env's sample is its reset's observation: CartPole float32[4]
    env = Spaces.of_env(trainer.env.env, trainer.env.params).sample()
    assert (env.shape, env.dtype) == ((1, 1, 4), jnp.float32) and not env.any()
    vec = Spaces(Box(-1.0, 1.0, (3,), jnp.float32), Discrete(2))
    agent = make_agent(config, make_network(config.net, vec.observation, vec.action), vec)
    eager = init_network(agent.network, jnp.zeros((1, 1, 3), jnp.float32), jax.random.key(2))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), agent.init_params(jax.random.key(2)),
                 eager)
    assert agent.dist.num_logits == 2 and agent.acting.dist is agent.dist and agent.policy(eager).params is eager


def test_the_modules_saved_params_may_lack_come_from_the_network(tiny_trainer):
    config, trainer = tiny_trainer
    assert trainer.agent.fresh_on_load == ()   # an mlp has none
    schema = ObservationSchema((16, 16), privileged=True)
    net_config = NetConfig(kind="goal_cnn", channels=(4,), hidden=(8,), core_size=0, separate_critic=False,
                           goal=GoalNetConfig(bearing_head=True, privileged_critic=True))
    spaces = Spaces(schema_spaces(schema), MultiDiscrete(A.NVEC, A.NAMES))
    agent = make_agent(config, make_network(net_config, spaces.observation, spaces.action), spaces)
    assert agent.fresh_on_load == ("value_head", "privileged_proj", "bearing")
