"""Go rules: captures, suicide, ko/superko, scoring, notation, observation, symmetries."""

from __future__ import annotations

import random

import numpy as np
import pytest

import games
from games.base import GameError, IllegalMoveError, NotationError, UnknownGameError
from games.go import COLUMNS, Go, GoState, handicap_actions, parse_vertex, vertex_text


def diagram(game: Go, rows: str, to_play: int = 0) -> GoState:
    """A setup position from rows of ``X`` (black), ``O`` (white), ``.`` (empty), top row first."""
    lines = [line.replace(" ", "") for line in rows.strip().splitlines()]
    assert len(lines) == game.size and all(len(line) == game.size for line in lines), lines
    black, white = [], []
    for r, line in enumerate(lines):
        for c, ch in enumerate(line):
            if ch == "X":
                black.append(r * game.size + c)
            elif ch == "O":
                white.append(r * game.size + c)
    return game.setup_state(black=black, white=white, to_play=to_play)


def empty_count(state: GoState) -> int:
    return int((state.board() == 0).sum())


# ---------------------------------------------------------------------- options


def test_options_round_trip():
    game = games.make("go", size=9)
    assert game.options() == {"size": 9, "komi": 7.5, "ko": "positional", "max_moves": 162, "history": 4,
                              "features": "stones"}
    assert games.from_spec(game.spec()) == game
    other = games.make("go", size=13, komi=6, ko="simple", max_moves=50, history=8)
    assert games.from_spec(other.spec()) == other
    assert other.observation_shape == (17, 13, 13)
    assert other.num_actions == 170


@pytest.mark.parametrize(
    "options", [{"size": 4}, {"size": 20}, {"size": 9.0}, {"komi": 7.25}, {"komi": "7.5"}, {"ko": "super"},
                {"max_moves": 0}, {"history": 0}, {"features": "katago"}],
)
def test_bad_options(options):
    with pytest.raises(UnknownGameError) as err:
        games.make("go", **options)
    assert repr(next(iter(options.values()))) in str(err.value)


@pytest.mark.parametrize(
    "options, bound",
    [
        ({"komi": 1e308}, "81"),  # 2 * komi overflowed to inf in the half-integer check
        ({"komi": -1e308}, "81"),
        ({"komi": 82.0}, "81"),
        ({"komi": float("inf")}, "81"),
        ({"size": 19, "komi": 362}, "361"),
        ({"history": 1_000_000_000}, "32"),
        ({"history": 33}, "32"),
        ({"max_moves": 1621}, "1620"),
        ({"max_moves": 2**70}, "1620"),
    ],
)
def test_size_like_options_are_bounded(options, bound):
    with pytest.raises(UnknownGameError) as err:
        games.from_spec({"name": "go", **options})  # what `--game go:komi=1e308` builds
    message = str(err.value)
    option = [k for k in options if k != "size"][0]
    assert option in message and bound in message and repr(options[option]) in message


def test_options_at_their_bounds_are_accepted():
    assert Go(size=9, komi=81).komi == 81.0
    assert Go(size=9, komi=-80.5).komi == -80.5
    assert Go(size=9, history=32).observation_shape == (65, 9, 9)
    assert Go(size=9, max_moves=1620).max_game_length == 1620


def test_unknown_option_is_rejected():
    with pytest.raises(UnknownGameError):
        games.make("go", board=9)


# ---------------------------------------------------------------------- captures


def test_single_stone_capture():
    game = Go(size=5)
    s = game.initial_state().apply_all(["C3", "C4", "A1", "B3", "A2", "D3", "A3"])
    assert s.to_play == 1
    s = s.apply_text("C2")  # White takes the black stone at C3
    assert s.colour_at(parse_vertex("C3", 5)) is None
    assert s.colour_at(parse_vertex("C2", 5)) == 1
    s._check_invariants()


def test_multi_stone_capture():
    game = Go(size=9)
    s = diagram(game, """
        . . . . . . . . .
        . . . O O O . . .
        . . O X X X . . .
        . . . O O O . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
    """, to_play=1)
    assert s.liberties(parse_vertex("D7", 9)) == 1
    after = s.apply_text("G7")
    for v in ("D7", "E7", "F7"):
        assert after.colour_at(parse_vertex(v, 9)) is None
    assert empty_count(after) == empty_count(s) - 1 + 3
    after._check_invariants()


def test_capture_in_corner():
    game = Go(size=5)
    s = game.initial_state().apply_all(["A5", "B5", "pass"])
    assert s.liberties(parse_vertex("A5", 5)) == 1
    s = s.apply_text("A4")
    assert s.colour_at(0) is None
    assert s.stones(0) == []
    s._check_invariants()


def test_capture_on_edge():
    game = Go(size=7)
    s = diagram(game, """
        . . X X O . .
        . . O O . . .
        . . . . . . .
        . . . . . . .
        . . . . . . .
        . . . . . . .
        . . . . . . .
    """, to_play=1)
    assert not s.is_terminal()
    s2 = s.apply_text("B7")  # fills the last liberty of C7 D7
    assert s2.colour_at(parse_vertex("C7", 7)) is None
    assert s2.colour_at(parse_vertex("D7", 7)) is None
    s2._check_invariants()


def test_suicide_is_illegal():
    game = Go(size=5)
    # Single-stone suicide in the corner.
    s = game.initial_state().apply_all(["B5", "pass", "A4"])
    assert s.to_play == 1
    a5 = parse_vertex("A5", 5)
    assert not s.legal_mask()[a5]
    with pytest.raises(IllegalMoveError):
        s.apply(a5)
    # Multi-stone suicide: White filling the last liberty of its own two stones.
    s = diagram(game, """
        . O X . .
        O O X . .
        X X . . .
        . . . . .
        . . . . .
    """, to_play=1)
    assert s.liberties(parse_vertex("B4", 5)) == 1
    assert not s.legal_mask()[parse_vertex("A5", 5)]
    # ...while for Black it is a capture.
    s_black = diagram(game, """
        . O X . .
        O O X . .
        X X . . .
        . . . . .
        . . . . .
    """, to_play=0)
    assert s_black.legal_mask()[parse_vertex("A5", 5)]
    assert s_black.apply_text("A5").stones(1) == []


def test_capture_is_not_suicide():
    game = Go(size=5)
    # Black at B5 is surrounded by white stones but takes A5 (in atari) and so gets a liberty.
    s = diagram(game, """
        O . O . .
        X O . . .
        . . . . .
        . . . . .
        . . . . .
    """, to_play=0)
    b5 = parse_vertex("B5", 5)
    assert s.legal_mask()[b5]
    after = s.apply(b5)
    assert after.colour_at(0) is None
    # White at A5, surrounded by black, takes B5 (one liberty) but not A4 (liberty A3).
    s = diagram(game, """
        . X O . .
        X O . . .
        . . . . .
        . . . . .
        . . . . .
    """, to_play=1)
    a5 = parse_vertex("A5", 5)
    assert s.legal_mask()[a5]
    after = s.apply(a5)
    assert after.colour_at(parse_vertex("B5", 5)) is None
    assert after.colour_at(parse_vertex("A4", 5)) == 0


KO_ROWS = """
    . . . . .
    . X O . .
    X . X O .
    . X O . .
    . . . . .
"""


def test_simple_ko():
    for rule in ("simple", "positional"):
        game = Go(size=5, ko=rule)
        s = diagram(game, KO_ROWS, to_play=1)
        b3, c3 = parse_vertex("B3", 5), parse_vertex("C3", 5)
        s = s.apply(b3)  # White takes C3
        assert s.colour_at(c3) is None
        if rule == "simple":
            assert s.ko_point == c3
        assert not s.legal_mask()[c3], rule  # immediate retake forbidden
        with pytest.raises(IllegalMoveError):
            s.apply(c3)
        s = s.apply_all(["E1", "E5"])  # moves elsewhere
        assert s.legal_mask()[c3], rule
        s = s.apply(c3)
        assert s.colour_at(b3) is None
        assert not s.legal_mask()[b3], rule


TRIPLE_KO = """
    . O X . . . O X .
    O . O X . O . O X
    . O X . . . O X .
    . . . . . . . . .
    . . . . . . . . .
    . O X . . . . . .
    O X . X . . . . .
    . O X . . . . . .
    . . . . . . . . .
"""
TRIPLE_KO_MOVES = ["B8", "C3", "G8", "C8", "B3"]  # the sixth, W H8, recreates the start


def test_positional_superko_cycle():
    simple = diagram(Go(size=9, ko="simple"), TRIPLE_KO)
    superko = diagram(Go(size=9), TRIPLE_KO)
    h8 = parse_vertex("H8", 9)
    s1 = simple.apply_all(TRIPLE_KO_MOVES)
    s2 = superko.apply_all(TRIPLE_KO_MOVES)
    assert s1.legal_mask()[h8]
    back = s1.apply(h8)
    assert back.board().tolist() == simple.board().tolist()
    assert back.position_hash == simple.position_hash
    assert not s2.legal_mask()[h8]
    with pytest.raises(IllegalMoveError):
        s2.apply(h8)
    # Every other move is unaffected.
    diff = np.flatnonzero(s1.legal_mask() != s2.legal_mask())
    assert diff.tolist() == [h8]


# ---------------------------------------------------------------------- end and scoring


def test_two_passes_end_game():
    game = Go(size=5)
    s = game.initial_state().apply_all(["C3", "pass"])
    assert not s.is_terminal()
    s = s.apply_all(["D4", "pass", "pass"])
    assert s.is_terminal()
    assert not s.legal_mask().any()
    with pytest.raises(IllegalMoveError):
        s.apply(game.pass_action)
    assert s.returns() == (1.0, -1.0)  # 25 - 0 - 7.5
    assert s.score() == 25 - 7.5


def test_single_pass_does_not_end_game():
    s = Go(size=5).initial_state().apply_all(["pass", "C3", "pass"])
    assert not s.is_terminal()
    with pytest.raises(GameError):
        s.returns()


def test_move_cap_ends_game():
    game = Go(size=5, max_moves=3)
    s = game.initial_state().apply_all(["C3", "D3"])
    assert not s.is_terminal()
    s = s.apply_text("E3")
    assert s.is_terminal()
    assert not s.legal_mask().any()
    assert s.score() == 2 - 1 - 7.5
    assert s.returns() == (-1.0, 1.0)


WALLS = """
    . . X O .
    . . X O .
    . . X O .
    . . X O .
    . . X O .
"""


def test_area_scoring_with_komi():
    s = diagram(Go(size=5, komi=7.5), WALLS)
    assert s.area() == (15, 10)
    assert s.score() == 15 - 10 - 7.5
    s = s.apply_all(["pass", "pass"])
    assert s.returns() == (-1.0, 1.0)
    assert s.result() == "W+2.5"
    s = diagram(Go(size=5, komi=4.5), WALLS).apply_all(["pass", "pass"])
    assert s.returns() == (1.0, -1.0)
    assert s.result() == "B+0.5"
    # Neutral points: an empty column touching both colours counts for nobody.
    s = diagram(Go(size=5, komi=0.5), """
        . X . O .
        . X . O .
        . X . O .
        . X . O .
        . X . O .
    """)
    assert s.area() == (10, 10)
    assert s.score() == -0.5


SEKI = """
    X X . O O
    X X O O O
    X X . O O
    X X O O O
    X X X O O
"""


def test_seki_scoring():
    game = Go(size=5, komi=0.5)
    s = diagram(game, SEKI)
    assert s.liberties(0) == 2 and s.liberties(parse_vertex("E5", 5)) == 2
    # Both shared liberties are legal (self-atari, not suicide) for both players.
    c5, c3 = parse_vertex("C5", 5), parse_vertex("C3", 5)
    assert s.legal_mask()[c5] and s.legal_mask()[c3]
    # Tromp-Taylor: 11 black stones, 12 white stones, the shared liberties are neutral.
    assert s.area() == (11, 12)
    assert s.score() == 11 - 12 - 0.5
    end = s.apply_all(["pass", "pass"])
    assert end.returns() == (-1.0, 1.0)
    assert end.result() == "W+1.5"
    # Playing into the seki is self-atari: the opponent captures.
    taken = s.apply(c5).apply(c3)
    assert taken.stones(0) == []


def test_integer_komi_draw():
    game = Go(size=5, komi=0)
    s = diagram(game, """
        . X . O .
        . X . O .
        . X . O .
        . X . O .
        . X . O .
    """).apply_all(["pass", "pass"])
    assert s.score() == 0
    assert s.returns() == (0.0, 0.0)
    assert s.result() == "0"


# ---------------------------------------------------------------------- notation


def test_text_round_trip_every_vertex_19x19():
    game = Go(size=19)
    s = game.initial_state()
    seen = set()
    for a in range(game.num_actions):
        text = s.action_to_text(a)
        assert "I" not in text
        assert s.parse_action(text) == a
        assert s.parse_action(text.lower()) == a
        assert game.parse_action(f"  {text} ") == a
        seen.add(text)
    assert len(seen) == 362
    assert s.action_to_text(0) == "A19"
    assert s.action_to_text(18 * 19) == "A1"
    assert s.action_to_text(360) == "T1"
    assert s.action_to_text(361) == "pass"
    assert s.parse_action("PASS") == s.parse_action("Pass") == 361


@pytest.mark.parametrize("text", ["", "A", "I5", "i5", "Z1", "A0", "A10", "K1", "J01", "11", "pass2", "A-1", "A 1",
                                  "A１"])
def test_notation_errors(text):
    s = Go(size=9).initial_state()
    with pytest.raises(NotationError):
        s.parse_action(text)


def test_action_to_text_out_of_range():
    s = Go(size=9).initial_state()
    with pytest.raises(NotationError):
        s.action_to_text(82)
    assert vertex_text(80, 9) == "J1"


def test_handicap_points():
    assert [vertex_text(a, 19) for a in handicap_actions(19, 9)] == [
        "D4", "Q16", "D16", "Q4", "D10", "Q10", "K4", "K16", "K10"]
    assert [vertex_text(a, 9) for a in handicap_actions(9, 2)] == ["C3", "G7"]
    with pytest.raises(GameError):
        handicap_actions(9, 10)
    s = Go(size=9).handicap_state(3)
    assert s.to_play == 1 and len(s.stones(0)) == 3


def test_str_shows_coordinates_and_last_move():
    s = Go(size=9).initial_state().apply_all(["D4", "E5"])
    text = str(s)
    lines = text.splitlines()
    assert lines[0].split() == list(COLUMNS[:9])
    assert lines[1].split()[0] == "9" and lines[9].split()[0] == "1"
    assert "(O)" in lines[5] and " X " in lines[6]
    assert "Black" in text


# ---------------------------------------------------------------------- observation and symmetries


def test_observation_planes_and_perspective():
    game = Go(size=5, history=3)
    s0 = game.initial_state()
    obs = s0.observation()
    assert obs.shape == (7, 5, 5) == game.observation_shape and obs.dtype == np.float32
    assert not obs[:6].any() and obs[6].all()
    c3, d4 = parse_vertex("C3", 5), parse_vertex("D4", 5)
    s1 = s0.apply(c3)  # White to move
    obs = s1.observation()
    assert obs[0].sum() == 0 and obs[1].reshape(-1)[c3] == 1 and obs[1].sum() == 1  # now: mover, opponent
    assert not obs[2:6].any()  # the empty start, then before the start
    assert not obs[6].any()  # White to move
    s2 = s1.apply(d4)  # Black to move
    obs = s2.observation()
    assert obs[0].reshape(-1)[c3] == 1 and obs[0].sum() == 1
    assert obs[1].reshape(-1)[d4] == 1 and obs[1].sum() == 1
    assert obs[2].reshape(-1)[c3] == 1 and obs[2].sum() == 1 and obs[3].sum() == 0  # one move ago
    assert obs[4].sum() == 0 and obs[5].sum() == 0  # the empty start
    assert obs[6].all()
    s3 = s2.apply(game.pass_action)  # White to move; the position repeats
    obs = s3.observation()
    assert np.array_equal(obs[0], obs[2]) and np.array_equal(obs[1], obs[3])
    assert obs[0].reshape(-1)[d4] == 1 and obs[1].reshape(-1)[c3] == 1
    assert obs[4].reshape(-1)[d4] == 0 and obs[5].reshape(-1)[c3] == 1  # two moves ago: only C3


def test_symmetries_match_observation_transform():
    game = Go(size=7)
    rng = random.Random(3)
    s = game.initial_state()
    for _ in range(25):
        legal = s.legal_actions()
        s = s.apply(rng.choice([a for a in legal if a != game.pass_action]))
    obs = s.observation()
    mask = s.legal_mask()
    for k in range(8):
        perm = game.action_permutation(k)
        assert perm[game.pass_action] == game.pass_action
        assert sorted(perm.tolist()) == list(range(game.num_actions))
        tobs = game.transform_observation(obs, k)
        for plane in range(2):
            flat = obs[plane].reshape(-1)
            tflat = tobs[plane].reshape(-1)
            assert np.array_equal(tflat[perm[:-1]], flat)
        # The transformed position has the permuted legal mask.
        moved = game.setup_state(
            black=[int(perm[a]) for a in s.stones(0)], white=[int(perm[a]) for a in s.stones(1)], to_play=s.to_play
        )
        tmask = np.zeros_like(mask)
        tmask[perm] = mask
        assert np.array_equal(moved.legal_mask(), tmask)
    with pytest.raises(ValueError):
        game.action_permutation(8)


def test_setup_validation():
    game = Go(size=5)
    with pytest.raises(GameError, match="twice"):
        game.setup_state(black=[3], white=[3])
    with pytest.raises(GameError, match="twice"):
        game.setup_state(black=[3, 3])
    with pytest.raises(GameError, match="off the"):
        game.setup_state(black=[25])
    with pytest.raises(GameError, match="no liberties"):
        game.setup_state(black=[0], white=[1, 5])
    with pytest.raises(GameError):
        game.setup_state(to_play=2)
    s = game.setup_state(black=[1, 5], white=[12], to_play=1)
    assert s.stones(0) == [1, 5] and s.stones(1) == [12] and s.to_play == 1 and s.move_number == 0
    assert not s.legal_mask()[0]  # A5 would be white suicide


def test_states_are_immutable_and_hashable():
    game = Go(size=5)
    s = game.initial_state()
    t = s.apply_text("C3")
    assert s.stones(0) == [] and t.stones(0) == [12]
    u = game.initial_state().apply_all(["C3", "pass"])
    assert u != t  # to_play differs
    v = game.setup_state(black=[12], to_play=1)
    assert v == t and hash(v) == hash(t)
    mask = t.legal_mask()
    assert not mask.flags.writeable
    assert t.legal_mask() is mask


def test_pickle_round_trip():
    import pickle

    game = Go(size=9, komi=6, ko="simple")
    s = game.initial_state().apply_all(["E5", "D4", "pass"])
    back = pickle.loads(pickle.dumps(s))
    assert back == s and back.game == game and back.to_play == s.to_play
    assert back._t is s._t
    assert np.array_equal(back.legal_mask(), s.legal_mask())
    assert np.array_equal(back.observation(), s.observation())
    assert np.array_equal(back.apply_text("C3").observation(), s.apply_text("C3").observation())


# ---------------------------------------------------------------------- random play regression


def _naive_mask(board: tuple[int, ...], n: int, colour: int, history: set) -> tuple[np.ndarray, int]:
    """Slow reference: try every move with flood fills; positional superko over ``history``.

    Returns the mask and how many otherwise-legal moves superko forbade.
    """

    def nbrs(x):
        r, c = divmod(x, n)
        if r > 0:
            yield x - n
        if r < n - 1:
            yield x + n
        if c > 0:
            yield x - 1
        if c < n - 1:
            yield x + 1

    def play(a):
        b = list(board)
        b[a] = colour

        def group(x):
            col, stones, stack, libs = b[x], {x}, [x], 0
            while stack:
                y = stack.pop()
                for z in nbrs(y):
                    if b[z] == col and z not in stones:
                        stones.add(z)
                        stack.append(z)
                    elif b[z] == 0:
                        libs += 1
            return stones, libs

        for z in nbrs(a):
            if b[z] == 3 - colour:
                stones, libs = group(z)
                if not libs:
                    for y in stones:
                        b[y] = 0
        return None if not group(a)[1] else tuple(b)

    mask = np.zeros(n * n + 1, dtype=bool)
    mask[-1] = True
    repeats = 0
    for a in range(n * n):
        if board[a] == 0:
            after = play(a)
            mask[a] = after is not None and after not in history
            repeats += after is not None and after in history
    return mask, repeats


def _mostly_moves(rng: random.Random, legal: list[int]) -> int:
    """Random play that rarely passes, so games run long and fill up with captures and kos."""
    if len(legal) > 1 and rng.random() > 0.03:
        return rng.choice(legal[:-1])
    return legal[-1]


@pytest.mark.slow
@pytest.mark.parametrize("size,count", [(5, 30), (7, 6)])
def test_random_games_match_reference_rules(size, count):
    rng = random.Random(size)
    game = Go(size=size, max_moves=4 * size * size)
    repeats = 0
    for _ in range(count):
        s = game.initial_state()
        history = {tuple([0] * size * size)}
        while not s.is_terminal():
            board = tuple({0: 0, 1: 1, -1: 2}[v] for v in s.board().reshape(-1).tolist())
            mask, forbidden = _naive_mask(board, size, s.to_play + 1, history)
            repeats += forbidden
            assert np.array_equal(s.legal_mask(), mask), str(s)
            s = s.apply(_mostly_moves(rng, s.legal_actions()))
            history.add(tuple({0: 0, 1: 1, -1: 2}[v] for v in s.board().reshape(-1).tolist()))
    assert repeats > 0  # superko was exercised


@pytest.mark.slow
def test_random_play_invariants():
    rng = random.Random(1)
    game = Go(size=9)
    seen: dict[int, bytes] = {}
    for _ in range(50):
        s = game.initial_state()
        while not s.is_terminal():
            legal = s.legal_actions()
            assert legal[-1] == game.pass_action
            s = s.apply(_mostly_moves(rng, legal))
            s._check_invariants()  # groups, liberties (>= 1 each), empties, eyes, hash vs a recomputation
            board = s.board().tobytes()
            assert seen.setdefault(s.position_hash, board) == board  # hash <-> position
        assert s.returns()[0] == -s.returns()[1]
        assert s.returns()[0] == np.sign(s.score())


def test_simple_ko_random_play_invariants():
    rng = random.Random(2)
    game = Go(size=7, ko="simple")
    for _ in range(20):
        s = game.initial_state()
        while not s.is_terminal():
            mask = s.legal_mask()
            if s.ko_point is not None:
                assert not mask[s.ko_point]
            s = s.apply_unchecked(rng.choice(np.flatnonzero(mask).tolist()))
            s._check_invariants()


def test_ownership_is_the_final_area_on_a_hand_made_position():
    """Black owns its stones and the left region; White its stones and the right; the point between is dame."""
    game = games.make("go", size=5, komi=0.5)
    # Columns A-B black wall at B, columns D-E white wall at D; column C: dame on C3.
    black = [f"B{r}" for r in range(1, 6)]
    white = [f"D{r}" for r in range(1, 6)]
    state = game.setup_state([game.parse_action(v) for v in black], [game.parse_action(v) for v in white])
    owner = state.ownership().reshape(5, 5)  # row 0 is the top (row 5)
    assert (owner[:, :2] == 1).all() and (owner[:, 3:] == -1).all()
    assert (owner[:, 2] == 0).all()  # column C touches both colours
    assert state.area() == (10, 10) and state.score() == -0.5
    with_c = game.setup_state([game.parse_action(v) for v in black + ["C3"]], [game.parse_action(v) for v in white])
    owner = with_c.ownership().reshape(5, 5)
    assert owner[2, 2] == 1 and owner[0, 2] == 0  # the stone is Black's; C5 still reaches both


def test_rich_features_planes_on_known_positions():
    """The ko-banned point, liberties, last pass and komi planes of "rich" features, on a ko.

        3 . X O .        Black (X) plays C2 and captures B2;
        2 X O . O        White may not take back at once: B2 is ko-banned for White,
        1 . X O .        and Black's C2 stone has one liberty (B2).
          A B C D
    """
    game = games.make("go", size=5, komi=7.5, features="rich", ko="simple", history=1)
    assert game.observation_shape == (3 + 9, 5, 5)
    assert games.make("go", size=5).observation_shape == (9, 5, 5)
    v = game.parse_action
    start = game.setup_state([v("B3"), v("A2"), v("B1")], [v("C3"), v("B2"), v("D2"), v("C1")])
    s = start.apply(v("C2"))
    assert s.to_play == 1 and not s.legal_mask()[v("B2")]
    assert s.ko_banned() == [v("B2")]
    rich = s.observation()[3:].reshape(9, 25)
    assert rich[6].nonzero()[0].tolist() == [v("B2")]
    assert rich[3, v("C2")] == 1.0  # the opponent's (Black's) stone with one liberty
    assert rich[0:6, v("C3")].tolist() == [0, 1, 0, 0, 0, 0]  # White's C3: two liberties (C4, D3)
    stones = (s.observation()[0] + s.observation()[1]).reshape(25)
    assert ((rich[0:6].sum(axis=0) > 0) == (stones > 0)).all()  # one liberty plane per stone, none elsewhere
    assert (rich[8] == 7.5 / 15).all()  # White's side of the komi
    assert (rich[7] == 0).all()
    passed = s.apply(game.pass_action).observation()[3:]
    assert (passed[7] == 1.0).all() and (passed[8] == -7.5 / 15).all() and passed[6].sum() == 0


@pytest.mark.parametrize("black, white, to_play", [(["C3", "G7"], [], 1), (["C3"], ["D4", "E5"], 0), ([], ["E5"], 0)])
def test_setup_moves_reach_the_setup_position(black: list[str], white: list[str], to_play: int) -> None:
    game = Go(size=9)
    start = game.setup_state(black=[parse_vertex(v, 9) for v in black], white=[parse_vertex(v, 9) for v in white],
                             to_play=to_play)
    moves = game.setup_moves(start)
    state = game.initial_state().apply_all(moves)
    assert np.array_equal(state.board(), start.board()) and state.to_play == start.to_play
    placed = [m for m in moves if m != game.pass_action]
    assert sorted(placed) == sorted(start.stones(0) + start.stones(1))  # every stone once, nothing else
    with pytest.raises(GameError, match="is not a position of"):
        game.setup_moves(Go(size=7).initial_state())


def test_games_without_setup_stones_have_no_setup_moves() -> None:
    chess = games.from_spec({"name": "chess"})
    assert chess.setup_moves(chess.initial_state()) is None
