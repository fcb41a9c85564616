"""BridgeVectorEnv's last drop-in gaps, each checked against AsyncVectorEnv's behaviour on the
same misuse (the oracle): close with a pending call, sub-env error logs, an unbatched or
wrongly counted action, actions reaching the env uncast, AsyncVectorEnv's keywords, step
before reset."""
import re
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.vector import AsyncVectorEnv

import _gym_dropin_envs as envs
from bridge import BridgeVectorEnv, InvalidActionError

IMPLS = [AsyncVectorEnv, BridgeVectorEnv]
IDS = ["Async", "Bridge"]


def _messages(caught):
    return [str(w.message) for w in caught]


@pytest.mark.parametrize("impl", IMPLS, ids=IDS)
def test_close_with_a_pending_call_warns_as_gymnasium(impl):
    for pending in ("reset", "step"):
        env = impl([envs.DtypeEnv] * 2)
        env.reset_async(seed=0)
        if pending == "step":
            env.reset_wait()
            env.step_async(np.zeros((2, 2), np.float32))
        with pytest.warns(UserWarning, match=re.escape(
                f"Calling `close` while waiting for a pending call to `{pending}` to complete.")):
            env.close(terminate=pending == "reset")
        assert env.closed


@pytest.mark.parametrize("impl", IMPLS, ids=IDS)
def test_sub_env_error_logs_gymnasiums_three_lines_then_raises_its_type(impl):
    env = impl([envs.FailOnActionEnv] * 2)
    env.reset(seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="Error in step with 1"):
            env.step(np.array([0, 1]))
    env.close()
    msgs = _messages(caught)
    assert len(msgs) == 3, msgs
    assert "Received the following error from Worker-1 - Shutting it down" in msgs[0]
    assert re.search(r"Traceback \(most recent call last\):(?s:.)*ValueError: Error in step with 1", msgs[1])
    assert msgs[2] == "\x1b[31mERROR: Raising the last exception back to the main process.\x1b[0m"


@pytest.mark.parametrize("impl", IMPLS, ids=IDS)
def test_action_count_errors_have_gymnasiums_types_and_float64_arrives_uncast(impl):
    env = impl([envs.DtypeEnv] * 2)
    try:
        env.reset(seed=0)
        for dtype in (np.float32, np.float64):  # as given, not cast to the space's float32
            info = env.step(np.full((2, 2), 0.25, dtype))[4]
            assert info["dtype"].tolist() == [np.dtype(dtype).name] * 2
        if impl is BridgeVectorEnv:  # the safety check stays on the uncast path
            with pytest.raises(InvalidActionError, match="above the bound"):
                env.step(np.full((2, 2), 2.0, np.float64))
            assert env.step(np.full((2, 2), 0.5))[4]["value"][0].tolist() == [0.5, 0.5]
        with pytest.raises(TypeError) as err:  # one scalar for all envs
            env.step(0)
        if impl is BridgeVectorEnv:
            assert isinstance(err.value, InvalidActionError)
        for n in (3, 1):  # too many / too few (AsyncVectorEnv has sent some of them by then)
            with pytest.raises(ValueError):
                env.step(np.zeros((n, 2), np.float32))
        if impl is BridgeVectorEnv:  # checked before anything is sent: still in step
            assert env.step(np.zeros((2, 2), np.float32))[4]["dtype"].tolist() == ["float32"] * 2
    finally:
        env.close()


def test_asyncvectorenv_keywords_accepted_or_refused_naming_bridgevectorenv():
    with pytest.raises(TypeError, match=r"^BridgeVectorEnv does not take AsyncVectorEnv's `worker=`"):
        BridgeVectorEnv([envs.DtypeEnv], worker=lambda *a: None)
    with pytest.raises(TypeError, match=r"^BridgeVectorEnv does not take daemon=False"):
        BridgeVectorEnv([envs.DtypeEnv], daemon=False)
    with pytest.raises(TypeError, match=r"^BridgeVectorEnv\(\) got an unexpected keyword argument 'bogus'"):
        BridgeVectorEnv([envs.DtypeEnv], bogus=1)
    with pytest.raises(ValueError, match=r"^BridgeVectorEnv does not run with context='forkserver'"):
        BridgeVectorEnv([envs.DtypeEnv], context="forkserver")  # not a worker death blamed on __main__
    for shared_memory in (True, False):  # False: observations pickled, as AsyncVectorEnv's
        env = BridgeVectorEnv([envs.DtypeEnv], shared_memory=shared_memory, daemon=True)
        try:
            assert env._fast_obs is shared_memory
            obs, _ = env.reset(seed=0)
            assert obs.dtype == np.float32 and obs.shape == (1, 2)
        finally:
            env.close()


@pytest.mark.parametrize("impl", IMPLS, ids=IDS)
def test_step_before_reset_raises_reset_needed(impl):
    env = impl([lambda: gym.make("CartPole-v1")] * 2)  # gym.make adds OrderEnforcing
    try:
        with pytest.raises(ResetNeeded) as err:
            env.step(np.array([0, 1]))
        if impl is BridgeVectorEnv:
            assert isinstance(err.value, RuntimeError)  # as the pool's own refusal
    finally:
        env.close()
