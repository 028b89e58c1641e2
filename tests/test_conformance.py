"""One conformance suite run on every registered game configuration.

Random games to the end check the protocol's promises: a non-empty legal set until
the end, zero-sum returns, states never mutated, every legal action's text
round-trips, illegal actions rejected, and symmetries that map legal masks onto
legal masks, observations onto observations, and preserve replayed outcomes.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

import games
from games import IllegalMoveError

CONFIGS = [
    {"name": "tictactoe"},
    {"name": "connect4"},
    {"name": "go", "size": 5},
    {"name": "go", "size": 9, "ko": "simple", "komi": 6.0},
    {"name": "go", "size": 7, "max_moves": 30},
    {"name": "chess"},
    {"name": "chess", "max_plies": 60},
]
NUM_GAMES = {"tictactoe": 30, "connect4": 20, "go": 4, "chess": 3}


def _ids(spec: dict) -> str:
    return "-".join(f"{v}" for v in spec.values())


def random_game(game: games.Game, rng: random.Random) -> list[int]:
    state = game.initial_state()
    actions = []
    while not state.is_terminal():
        a = rng.choice(state.legal_actions())
        actions.append(a)
        state = state.apply(a)
    return actions


def test_registry_lists_every_game() -> None:
    assert set(games.names()) == {"tictactoe", "connect4", "go", "chess"}


def test_unknown_game_and_option_are_named() -> None:
    with pytest.raises(games.UnknownGameError, match="checkers"):
        games.make("checkers")
    with pytest.raises(games.UnknownGameError, match="tictactoe"):
        games.make("tictactoe", size=4)


@pytest.mark.parametrize(
    "spec, longest",
    [
        ({"name": "tictactoe"}, 9),
        ({"name": "connect4"}, 42),
        ({"name": "go", "size": 9}, 162),
        ({"name": "go", "size": 7, "max_moves": 30}, 30),
        ({"name": "chess"}, 512),
        ({"name": "chess", "max_plies": 60}, 60),
    ],
)
def test_max_game_length_is_the_longest_game_the_rules_allow(spec: dict, longest: int) -> None:
    game = games.from_spec(spec)
    assert game.max_game_length == longest
    assert isinstance(game.max_game_length, int)


@pytest.mark.slow
@pytest.mark.parametrize("spec", CONFIGS, ids=_ids)
def test_random_games_follow_the_protocol(spec: dict) -> None:
    game = games.from_spec(spec)
    assert games.from_spec(game.spec()) == game
    rng = random.Random(1234)
    for _ in range(NUM_GAMES[spec["name"]]):
        state = game.initial_state()
        plies = 0
        while not state.is_terminal():
            mask = state.legal_mask()
            assert mask.shape == (game.num_actions,) and mask.dtype == np.bool_
            legal = state.legal_actions()
            assert legal, f"no legal move in a non-terminal position:\n{state}"
            assert legal == np.flatnonzero(mask).tolist()
            obs = state.observation()
            assert obs.shape == game.observation_shape and obs.dtype == np.float32
            assert state.to_play in (0, 1)
            with pytest.raises(games.GameError):
                state.returns()
            # Every legal action's text round-trips.
            for a in legal:
                assert state.parse_action(state.action_to_text(a)) == a
            # An illegal action is refused by name, and the state is unchanged.
            illegal = np.flatnonzero(~mask)
            if len(illegal):
                with pytest.raises(IllegalMoveError):
                    state.apply(int(illegal[rng.randrange(len(illegal))]))
            for bad in (-1, game.num_actions, 1.5, "1"):
                with pytest.raises(IllegalMoveError):
                    state.apply(bad)  # type: ignore[arg-type]
            before = (str(state), mask.copy(), obs.copy(), state.to_play)
            child = state.apply(rng.choice(legal))
            assert child is not state
            after = (str(state), state.legal_mask(), state.observation(), state.to_play)
            assert before[0] == after[0] and before[3] == after[3]
            np.testing.assert_array_equal(before[1], after[1])
            np.testing.assert_array_equal(before[2], after[2])
            state = child
            plies += 1
        assert plies <= game.max_game_length, f"{plies} plies beyond max_game_length {game.max_game_length}"
        assert not state.legal_mask().any()
        assert state.legal_actions() == []
        returns = state.returns()
        assert len(returns) == 2 and returns[0] + returns[1] == 0 and returns[0] in (-1.0, 0.0, 1.0)
        with pytest.raises(IllegalMoveError):
            state.apply(0)


@pytest.mark.parametrize("spec", CONFIGS, ids=_ids)
def test_symmetries_map_games_onto_games(spec: dict) -> None:
    game = games.from_spec(spec)
    rng = random.Random(99)
    for k in range(game.num_symmetries):
        perm = game.action_permutation(k)
        assert sorted(perm.tolist()) == list(range(game.num_actions)), "not a permutation"
        actions = random_game(game, rng)
        original, mirrored = game.initial_state(), game.initial_state()
        for a in actions:
            mask, mask_t = original.legal_mask(), mirrored.legal_mask()
            expected = np.zeros_like(mask)
            expected[perm] = mask
            np.testing.assert_array_equal(mask_t, expected)
            np.testing.assert_array_equal(
                mirrored.observation(), game.transform_observation(original.observation(), k)
            )
            original, mirrored = original.apply(a), mirrored.apply(int(perm[a]))
        assert mirrored.is_terminal()
        assert mirrored.returns() == original.returns()
    with pytest.raises(ValueError):
        game.action_permutation(game.num_symmetries)


@pytest.mark.parametrize("spec", CONFIGS, ids=_ids)
def test_batched_symmetry_matches_single(spec: dict) -> None:
    game = games.from_spec(spec)
    state = game.initial_state()
    rng = random.Random(5)
    observations = []
    for _ in range(3):
        state = state.apply(rng.choice(state.legal_actions()))
        observations.append(state.observation())
    batch = np.stack(observations)
    for k in range(game.num_symmetries):
        transformed = game.transform_observation(batch, k)
        for i, obs in enumerate(observations):
            np.testing.assert_array_equal(transformed[i], game.transform_observation(obs, k))
