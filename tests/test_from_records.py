"""Game records as training games (selfplay.from_records): policy = the move played, value = the result."""

from __future__ import annotations

import numpy as np
import pytest

import games
from games.go import Go
from games.records import OPENING_TAG, GameRecord
from selfplay.from_records import ConversionError, compatible, convert_record, record_to_trajectory
from selfplay.trajectory import decode, decode_training, encode, training_arrays

TTT = games.make("tictactoe")


def ttt_record(moves: str, **fields) -> GameRecord:
    state = TTT.initial_state()
    actions = []
    for move in moves.split():
        actions.append(state.parse_action(move))
        state = state.apply(actions[-1])
    return GameRecord(game=TTT, actions=tuple(actions), **fields)


def checked(trajectory):
    """The trajectory after the decoder's full validation (the replay's own check)."""
    back = decode(encode(trajectory))
    assert back.termination == trajectory.termination
    return back


def test_policy_is_the_move_played_and_value_the_result():
    record = ttt_record("a1 a2 b1 b2 c1", winner=0, ending="terminal")
    trajectory = checked(record_to_trajectory(record, TTT))
    assert trajectory.termination == "terminal" and trajectory.returns == (1.0, -1.0)
    assert trajectory.weights_version == 0 and not trajectory.root_values.any()
    _, masks, targets, values = training_arrays(trajectory)
    np.testing.assert_array_equal(targets.argmax(axis=1), record.actions)
    np.testing.assert_array_equal(targets.max(axis=1), 1.0)
    assert (targets.sum(axis=1) == 1).all() and not targets[~masks].any()
    np.testing.assert_array_equal(values, [1, -1, 1, -1, 1])


def test_smoothing_spreads_a_share_over_the_legal_moves():
    record = ttt_record("a1 a2 b1 b2 c1", winner=0, ending="terminal")
    trajectory = checked(record_to_trajectory(record, TTT, smoothing=0.1))
    first = trajectory.policies[0]
    assert len(first) == 9 and first.max() == pytest.approx(0.9 + 0.1 / 9) and first.min() == pytest.approx(0.1 / 9)
    with pytest.raises(ValueError, match="smoothing"):
        record_to_trajectory(record, TTT, smoothing=1.0)


def test_random_opening_moves_get_no_policy_target():
    record = ttt_record("a1 a2 b1 b2 c1", winner=0, ending="terminal", tags={OPENING_TAG: "2"})
    converted = convert_record(record, TTT)
    assert converted.opening_plies == 2
    assert [len(p) for p in converted.trajectory.policies] == [0, 0, 7, 6, 5]
    _, _, targets, values = training_arrays(checked(converted.trajectory))
    assert not targets[:2].any() and (values[:2] == [1, -1]).all()  # the value is still learned there


def test_resignations_draws_and_adjudications():
    # O resigns with O to move: a resignation in trajectory terms.
    resigned = record_to_trajectory(ttt_record("a1 a2 b1", winner=0, ending="resignation"), TTT)
    assert checked(resigned).termination == "resigned" and resigned.resigned_by == 1
    # O "resigns" after its own move (X to move): only the record's word for it.
    other = record_to_trajectory(ttt_record("a1 a2 b1 b2", winner=0, ending="resignation"), TTT)
    assert checked(other).termination == "adjudicated" and other.returns == (1.0, -1.0)
    # An agreed draw before the end, and a loss on time.
    draw = record_to_trajectory(ttt_record("b2 a1", winner=None, ending="adjudicated"), TTT)
    assert checked(draw).termination == "adjudicated" and draw.returns == (0.0, 0.0)
    time_loss = record_to_trajectory(ttt_record("b2 a1 c3", winner=1, ending="time"), TTT)
    assert checked(time_loss).returns == (-1.0, 1.0)


@pytest.mark.parametrize("ending,kind", [("void", "no result"), ("unfinished", "no result"), ("forfeit", "no result")])
def test_records_without_a_usable_result_are_refused(ending, kind):
    with pytest.raises(ConversionError, match="result|forfeit") as err:
        record_to_trajectory(ttt_record("b2 a1", winner=0 if ending == "forfeit" else None, ending=ending), TTT)
    assert err.value.kind == kind


def test_other_games_sizes_and_illegal_moves_are_refused():
    c4 = games.make("connect4")
    with pytest.raises(ConversionError, match="connect4 game, not tictactoe") as err:
        record_to_trajectory(GameRecord(game=c4, actions=(3,), winner=0, ending="resignation"), TTT)
    assert err.value.kind == "other game"
    go9, go7 = Go(size=9), Go(size=7)
    with pytest.raises(ConversionError, match="7x7 game, not 9x9") as err:
        record_to_trajectory(GameRecord(game=go7, actions=(0,), winner=0, ending="resignation"), go9)
    assert err.value.kind == "other size"
    with pytest.raises(ConversionError, match="move 2 .*illegal") as err:
        record_to_trajectory(GameRecord(game=TTT, actions=(4, 4), winner=0, ending="resignation"), TTT)
    assert err.value.kind == "illegal"
    with pytest.raises(ConversionError, match="no moves"):
        record_to_trajectory(GameRecord(game=TTT, actions=(), winner=0, ending="resignation"), TTT)


def test_go_handicap_stones_become_moves_without_policy_targets():
    record_game = Go(size=9, komi=0.5)
    start = record_game.handicap_state(3)
    actions = [40, 41, 49]  # White, Black, White
    record = GameRecord(game=record_game, actions=tuple(actions), start=start, winner=1, ending="resignation")
    run_game = Go(size=9)  # komi 7.5: the run's
    converted = convert_record(record, run_game)
    t = converted.trajectory
    # Black's three stones with White passing in between, then White (to move after the setup) plays on.
    assert converted.setup_plies == 5 and list(t.actions[:5]) == [*start.stones(0)[:1], 81, start.stones(0)[1], 81,
                                                                   start.stones(0)[2]]
    assert [len(p) for p in t.policies[:5]] == [0] * 5 and all(len(p) for p in t.policies[5:])
    assert list(t.actions[5:]) == actions and t.game_spec == run_game.spec()
    final = record.final_state()
    assert converted.final_state.stones(0) == final.stones(0) and converted.final_state.stones(1) == final.stones(1)
    assert converted.final_state.to_play == final.to_play
    assert checked(t).termination == "resigned" and t.resigned_by == 0  # Black, to move, resigned


def test_a_go_result_under_another_komi_stays_the_records():
    """Two passes end the game, but the record was scored with komi 0.5: its result, adjudicated."""
    record_game = Go(size=5, komi=0.5)
    state = record_game.initial_state()
    for move in ("C3", "pass", "pass"):
        state = state.apply_text(move)
    assert state.returns() == (1.0, -1.0)  # Black's 25 points beat komi 0.5 ...
    record = GameRecord(game=record_game, actions=(12, 25, 25), winner=0, ending="terminal")
    same = record_to_trajectory(record, record_game)
    assert checked(same).termination == "terminal"
    run_game = Go(size=5, komi=25)  # ... and only draw with komi 25: the rules disagree with the record
    other = record_to_trajectory(record, run_game)
    assert checked(other).termination == "adjudicated" and other.returns == (1.0, -1.0)


def test_a_record_longer_than_the_runs_move_cap_is_cut_there():
    long_game = Go(size=5, max_moves=40)
    rng = np.random.default_rng(0)
    state, actions = long_game.initial_state(), []
    while len(actions) < 30:
        legal = state.legal_actions()[:-1] or [25]
        actions.append(int(rng.choice(legal)))
        state = state.apply(actions[-1])
    record = GameRecord(game=long_game, actions=tuple(actions), winner=1, ending="resignation")
    converted = convert_record(record, Go(size=5, max_moves=20))
    assert converted.truncated and len(converted.trajectory.actions) == 20
    # Scored where the run's cap ends it: "terminal" when the score agrees with the record, else "adjudicated".
    rules_winner = 0 if converted.final_state.returns()[0] > 0 else 1
    for winner, termination in ((rules_winner, "terminal"), (1 - rules_winner, "adjudicated")):
        record = GameRecord(game=long_game, actions=tuple(actions), winner=winner, ending="resignation")
        assert checked(record_to_trajectory(record, Go(size=5, max_moves=20))).termination == termination


def test_chess_from_a_fen_start_and_an_unclaimed_repetition():
    run_game = games.make("chess")
    fen = "4k3/8/8/8/8/8/4P3/4K3 w - - 0 1"
    record_game = games.make("chess", fen=fen)
    state = record_game.initial_state()
    actions = []
    for move in ("e2e4", "e8d7"):
        actions.append(state.parse_action(move))
        state = state.apply(actions[-1])
    t = record_to_trajectory(GameRecord(game=record_game, actions=tuple(actions), winner=None, ending="adjudicated"),
                             run_game)
    assert t.game_spec["fen"] == record_game.fen and compatible(t.game(), run_game)
    trajectory, arrays = decode_training(encode(t), t.game())
    assert arrays[0].shape[1:] == run_game.observation_shape
    # Knights out and back twice: a threefold repetition the players did not claim, then e4.
    state = run_game.initial_state()
    actions = []
    for move in ("g1f3", "g8f6", "f3g1", "f6g8", "g1f3", "g8f6", "f3g1", "f6g8", "e2e4"):
        actions.append(state.parse_action(move))
        state = state.apply_unchecked(actions[-1])
    converted = convert_record(GameRecord(game=run_game, actions=tuple(actions), winner=0, ending="resignation"),
                               run_game)
    assert converted.truncated and len(converted.trajectory.actions) == 8
    assert checked(converted.trajectory).termination == "adjudicated"


def test_compatible_games_differ_only_in_the_start_position():
    chess = games.make("chess")
    assert compatible(chess, games.make("chess", fen="4k3/8/8/8/8/8/4P3/4K3 w - - 0 1"))
    assert not compatible(chess, games.make("chess", max_plies=100))
    assert not compatible(Go(size=9), Go(size=9, komi=6.5)) and compatible(TTT, games.make("tictactoe"))
