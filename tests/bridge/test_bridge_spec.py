import gymnasium as gym
import numpy as np
import pytest

from bridge.adapters.gymnasium_env import spec_from_spaces
from bridge.spec import ArraySpec, EnvSpec, InvalidActionError, as_action_dict, validate_actions

SPEC = EnvSpec(
    observation={"pov": ArraySpec((4, 4, 3), np.uint8, 0, 255)},
    action={"buttons": ArraySpec((3,), np.int8, 0, 1),
            "camera": ArraySpec((2,), np.float32, -180, 180)},
    name="fake")
IDS = np.array([5, 6])


def good():
    return {"buttons": np.zeros((2, 3), np.int8), "camera": np.zeros((2, 2), np.float32)}


def test_valid_actions_pass_and_take_spec_dtypes():
    acts = good()
    acts["buttons"] = acts["buttons"].astype(np.int64)  # same kind: cast, not rejected
    out = validate_actions(acts, SPEC, IDS)
    assert out["buttons"].dtype == np.int8 and out["camera"].dtype == np.float32


@pytest.mark.parametrize("mutate, words", [
    (lambda a: a.__setitem__("buttons", np.zeros((2, 4), np.int8)), ["'buttons'", "shape (2, 4)"]),
    (lambda a: a.__setitem__("camera", np.zeros((2, 2), np.complex64)), ["'camera'", "dtype"]),
    (lambda a: a["buttons"].__setitem__((1, 2), 2), ["env 6", "'buttons'", "above"]),
    (lambda a: a["camera"].__setitem__((0, 1), -200.0), ["env 5", "'camera'", "below"]),
    (lambda a: a["camera"].__setitem__((1, 0), np.nan), ["env 6", "'camera'", "not finite"]),
    (lambda a: a.pop("camera"), ["missing ['camera']"]),
    (lambda a: a.__setitem__("jump", np.zeros(2)), ["unexpected ['jump']"]),
    (lambda a: a.__setitem__("buttons", np.zeros((2, 3), np.float32)), ["'buttons'", "dtype float32, expected int8"]),
])
def test_invalid_actions_name_env_and_field(mutate, words):
    acts = good()
    mutate(acts)
    with pytest.raises(InvalidActionError) as err:
        validate_actions(acts, SPEC, IDS)
    for w in words:
        assert w in str(err.value)
    assert str(err.value).startswith("fake:")


def test_bare_array_only_for_single_field_specs():
    with pytest.raises(InvalidActionError, match="must be a dict"):
        as_action_dict(np.zeros(2), SPEC)
    single = spec_from_spaces(gym.spaces.Box(0, 1, (2,)), gym.spaces.Discrete(3))
    assert set(as_action_dict(np.zeros(2), single)) == {"action"}


def test_spaces_translate_to_fields_with_bounds():
    spec = spec_from_spaces(
        gym.spaces.Dict({"pov": gym.spaces.Box(0, 255, (8, 8, 3), np.uint8)}),
        gym.spaces.Dict({"move": gym.spaces.Discrete(3, start=-1),
                         "keys": gym.spaces.MultiDiscrete([2, 5]),
                         "bits": gym.spaces.MultiBinary(4)}))
    assert spec.observation["pov"].shape == (8, 8, 3)
    move, keys, bits = spec.action["move"], spec.action["keys"], spec.action["bits"]
    assert (move.shape, move.low, move.high) == ((), -1, 1)
    assert keys.shape == (2,) and list(keys.high) == [1, 4]
    assert bits.shape == (4,) and bits.high == 1
    with pytest.raises(TypeError, match="unsupported space"):
        spec_from_spaces(gym.spaces.Text(5), gym.spaces.Discrete(2))


def test_spec_rejects_empty_fields():
    with pytest.raises(ValueError, match="no action fields"):
        EnvSpec(observation={"x": ArraySpec((1,), np.float32)}, action={})
