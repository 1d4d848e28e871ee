"""The window, on SDL's dummy video driver: it plays against a real in-process server, and
what it draws is where the board says things are."""

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pygame
import pytest

from pacnet.client.remote import CallResult, RemoteBoard
from pacnet.client.retry import RetryPolicy
from pacnet.client.timeouts import Timeouts
from pacnet.client.view import MISSING_AFTER, View
from pacnet.faults.admin import AdminClient
from pacnet.protocol.models import Entity, FindAllReply
from pacnet.protocol.outcome import Outcome
from pacnet.protocol.rooms import room_url
from pacnet.server.config import ServerConfig, ServerLimits
from pacnet.server.embedded import running_server
from pacnet.server.layout import load_layout
from pacnet.trace.verdict import Verdict
from pacnet.window.draw import (
    BLACK,
    DOOR,
    FLASH,
    FRIGHTENED,
    GHOSTS,
    HUD,
    PACMAN,
    PELLET,
    TILE,
    WALL,
    Presenter,
    draw_maze,
)  # fmt: skip
from pacnet.window.hud import Hud
from pacnet.window.layout import Box, arrange
from pacnet.window.panels import FAULT_RED, outcome_columns
from pacnet.window.window import WindowReport, run_window, title
from tests.conftest import MS, ROOT, ServerProcess, StartServer, switch_on
from tests.gamepad import VirtualGamepad


@pytest.fixture(autouse=True)
def dummy_video(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")


def pixel(image: pygame.Surface, tile: tuple[int, int], dx: int = 0) -> tuple[int, int, int]:
    colour = image.get_at((tile[0] * TILE + TILE // 2 + dx, tile[1] * TILE + TILE // 2 + HUD))
    return (colour.r, colour.g, colour.b)


async def test_the_window_draws_the_maze_and_pacman_where_the_board_says(tmp_path: Path) -> None:
    shot = tmp_path / "frame.png"
    async with running_server(ServerConfig(port=0, layout="classic", seed=1)) as server:
        report = await run_window(server.url or "", "tester", exit_after=1.5, screenshot=shot)
        start = server.game.board.layout.pacman_start
        blinky = server.game.board.get("blinky")
    assert report.frames > 30
    image = pygame.image.load(str(shot))
    assert image.get_size() == (28 * TILE, 31 * TILE + 2 * HUD)
    # Standing at the start (nobody steered), facing left: yellow behind the mouth, black beside.
    assert pixel(image, start, dx=4) == PACMAN
    assert pixel(image, (start[0] - 2, start[1])) != PACMAN
    blues = sum(
        1 for x in range(image.get_width()) for y in range(HUD, image.get_height() - HUD)
        if tuple(image.get_at((x, y)))[:3] == WALL
    )  # fmt: skip
    assert blues > 2_000  # the maze's walls
    assert blinky is not None
    colours = {
        tuple(image.get_at((x, y)))[:3]
        for x in range(0, image.get_width(), 2)
        for y in range(HUD, image.get_height(), 2)
    }
    assert GHOSTS["blinky"] in colours


async def test_the_window_reports_a_server_it_cannot_join(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"cannot join ws://127\.0\.0\.1:9"):
        await run_window("ws://127.0.0.1:9", "tester", exit_after=0.5)


async def test_the_window_keeps_drawing_while_the_server_is_stopped_and_recovers(
    server_process: Callable[..., ServerProcess],
) -> None:
    process = server_process("--layout", "small")
    live = WindowReport()
    window = asyncio.create_task(
        run_window(
            process.url, "stalled", exit_after=4.0, timeouts=Timeouts(reply=0.3), hud=True,
            report=live,
        )
    )  # fmt: skip
    await asyncio.sleep(1.0)
    process.signal(signal.SIGSTOP)
    await asyncio.sleep(1.5)
    unknown_in_stall = live.outcomes[Outcome.UNKNOWN]
    successes_before = live.outcomes[Outcome.SUCCESS]
    process.signal(signal.SIGCONT)
    report = await window
    assert unknown_in_stall >= 1
    assert report.outcomes[Outcome.UNKNOWN] >= 1  # calls went UNKNOWN during the stall
    assert report.longest_frame_gap < 0.5  # and the frames never stopped
    assert report.frames > 3.0 * 30
    assert report.outcomes[Outcome.SUCCESS] > successes_before  # it recovered by itself


def break_the_board_after(calls: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``findAll`` after the first ``calls`` raises, as a bug in the client would: the
    window's network loop dies of it (a call's outcomes are results, never exceptions)."""
    find_all = RemoteBoard.find_all
    made = itertools.count(1)

    async def breaking(board: RemoteBoard, kind: str) -> CallResult[FindAllReply]:
        if next(made) > calls:
            raise RuntimeError("the board broke")
        return await find_all(board, kind)

    monkeypatch.setattr(RemoteBoard, "find_all", breaking)


NETWORK_FAILED = (
    "pacnet play: error: the network loop failed (RuntimeError: the board broke); the window closed"
)


async def test_when_the_network_task_fails_the_window_ends_saying_which_task(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Never a frozen board: the window was drawing, its network loop died, and the window
    ends at once with one line naming what failed (not at its exit-after, nor silently)."""
    break_the_board_after(6, monkeypatch)  # three turns of the loop, then it dies
    live = WindowReport()
    exit_after = 6000 * MS
    async with running_server(ServerConfig(port=0, layout="small", seed=1)) as server:
        loop = asyncio.get_running_loop()
        began = loop.time()
        with pytest.raises(SystemExit) as ended:
            await run_window(server.url or "", "broken", exit_after=exit_after, report=live)
        lasted = loop.time() - began
    assert ended.value.code == NETWORK_FAILED
    assert live.frames > 0  # it had been drawing the board
    assert lasted < exit_after / 2


def test_pacnet_play_whose_network_task_fails_exits_1_with_one_line(tmp_path: Path) -> None:
    """What the player sees: ``pacnet play`` (its embedded server, its window) ends with the
    line on stderr and exit status 1, no traceback."""
    script = tmp_path / "broken_play.py"
    script.write_text(
        "import sys\n"
        "import pytest\n"
        "from pacnet.main import main\n"
        "from tests.test_window import break_the_board_after\n"
        "with pytest.MonkeyPatch.context() as patch:\n"
        "    break_the_board_after(0, patch)\n"
        "    sys.exit(main(sys.argv[1:]))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script), "play", "--layout", "small", "--exit-after", "60"],
        capture_output=True, text=True, timeout=20_000 * MS, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == NETWORK_FAILED
    assert "Traceback" not in done.stderr


def test_the_view_knows_a_game_is_over_only_after_the_last_life() -> None:
    view = View(28, 31, "pacman-me")
    me = Entity(name="pacman-me", kind=":pacman", x_pos=1, y_pos=1, lives=2)
    view.update(1.0, [me])
    view.update(2.0, [])  # caught with a life left: back in a moment
    assert not view.game_over
    view.update(3.0, [me.model_copy(update={"lives": 1})])
    view.update(4.0, [])
    assert view.game_over


def test_a_pac_man_not_seen_for_longer_than_a_catch_lasts_can_be_joined_again() -> None:
    """Its last life went while every snapshot was lost: the view never saw lives 1, so it
    cannot call the game over, but it knows the pac-man is not coming back by itself."""
    view = View(28, 31, "pacman-me")
    me = Entity(name="pacman-me", kind=":pacman", x_pos=1, y_pos=1, lives=3)
    view.update(1.0, [me])
    view.update(1.1, [])  # caught; then the snapshots fail, and nothing more is seen
    assert not view.game_over
    assert not view.missing(1.1 + 1.5)  # a caught pac-man is back within 1.5 s
    assert view.missing(1.0 + MISSING_AFTER + 0.1)
    view.update(5.0, [me])
    assert not view.missing(9.0)  # seen again: never missing while on the board


def test_a_resized_window_keeps_the_frames_shape_with_black_bars() -> None:
    frame = pygame.Surface((100, 50))
    frame.fill((255, 255, 0))
    screen = pygame.Surface((400, 400))
    screen.fill((9, 9, 9))
    presenter = Presenter()
    presenter.show(frame, screen)
    presenter.show(frame, screen)  # the second frame reuses the scaled surface
    assert tuple(screen.get_at((200, 200)))[:3] == (255, 255, 0)  # the picture, centred
    assert tuple(screen.get_at((200, 10)))[:3] == (0, 0, 0)  # a bar above it
    assert tuple(screen.get_at((200, 100)))[:3] == (255, 255, 0)  # 400 x 200, from y = 100
    assert tuple(screen.get_at((200, 99)))[:3] == (0, 0, 0)


@pytest.mark.parametrize("control", ["d-pad", "stick"])
async def test_a_gamepad_plugged_in_while_playing_steers_pacman(control: str) -> None:
    async with running_server(ServerConfig(port=0, layout="classic", seed=1)) as server:
        window = asyncio.create_task(run_window(server.url or "", "padded", exit_after=2.5))
        await asyncio.sleep(0.5)  # the window is open and playing
        pad = VirtualGamepad()
        if control == "d-pad":
            pad.hat("left")
        else:
            pad.stick(-0.9, 0.1)
        await window
        start = server.game.board.layout.pacman_start
        moved = server.game.board.get("pacman-padded")
    assert moved is not None
    assert moved.tile[1] == start[1]
    assert moved.tile[0] < start[0] - 2  # it ran left, several tiles, steered by the pad alone


async def test_a_stick_at_rest_does_not_steer() -> None:
    async with running_server(ServerConfig(port=0, layout="classic", seed=1)) as server:
        window = asyncio.create_task(run_window(server.url or "", "resting", exit_after=1.5))
        await asyncio.sleep(0.5)
        VirtualGamepad().stick(0.3, -0.2)  # drift inside the dead zone
        await window
        start = server.game.board.layout.pacman_start
        stayed = server.game.board.get("pacman-resting")
    assert stayed is not None
    assert stayed.tile == start


def press(key: int) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))


async def test_f7_takes_the_clients_network_down_and_brings_it_back() -> None:
    async with running_server(ServerConfig(port=0, layout="small", seed=1)) as server:
        live = WindowReport()
        window = asyncio.create_task(
            run_window(server.url or "", "offline", exit_after=3.0, report=live, retries=None)
        )
        await asyncio.sleep(0.8)
        press(pygame.K_F7)
        await asyncio.sleep(0.8)
        offline = live.outcomes[Outcome.POST_FAILED]
        successes = live.outcomes[Outcome.SUCCESS]
        press(pygame.K_F7)
        report = await window
    assert offline >= 3  # nothing left the client while its network was down
    assert report.outcomes[Outcome.POST_FAILED] - offline <= 2  # (calls already under way)
    assert report.outcomes[Outcome.SUCCESS] > successes + 3  # and it came back by itself


async def test_the_window_shows_the_faults_switched_on_at_the_server(tmp_path: Path) -> None:
    calm, chaotic = tmp_path / "calm.png", tmp_path / "chaos.png"
    async with running_server(ServerConfig(port=0, layout="classic", seed=1)) as server:
        url = server.url or ""
        await run_window(url, "watcher", exit_after=1.0, screenshot=calm)
        await switch_on(server, kind="update_fails", action="move")
        await run_window(url, "watcher2", exit_after=1.5, screenshot=chaotic)

    def reds(path: Path) -> int:
        image = pygame.image.load(str(path))
        return sum(
            1 for x in range(0, image.get_width()) for y in range(image.get_height() - 120, image.get_height())
            if tuple(image.get_at((x, y)))[:3] == FAULT_RED
        )  # fmt: skip

    assert reds(calm) == 0
    assert (
        reds(chaotic) > 50
    )  # "fault s1: update_fails action=move (server, step 4 UPDATE SERVER STATE)"


async def test_the_request_inspector_draws_a_failed_step_in_its_outcomes_colour(
    tmp_path: Path,
) -> None:
    shot = tmp_path / "inspector.png"
    async with running_server(ServerConfig(port=0, layout="classic", seed=1)) as server:
        url = server.url or ""
        await switch_on(server, kind="reject", action="findAll")
        report = await run_window(url, "inspected", exit_after=1.0, screenshot=shot, inspector=True)
    assert report.column_shown is not None
    fatal = pygame.Color(Outcome.FATAL.colour)
    assert (fatal.r, fatal.g, fatal.b) in colours(pygame.image.load(str(shot)), report.column_shown)
    # step 3 of each findAll, lit FATAL red


async def test_the_window_holds_each_outcome_against_what_the_server_really_did() -> None:
    config = ServerConfig(port=0, layout="small", seed=1, trace=True)
    async with running_server(config) as server:
        url = server.url or ""
        await switch_on(server, kind="no_reply", action="findAll", count=2)
        await switch_on(server, kind="reject", action="findAll", count=2)
        report = await run_window(
            url, "checked", exit_after=2.5, timeouts=Timeouts(reply=300 * MS), inspector=True,
            retries=None,
        )  # fmt: skip
    assert report.verdicts[Verdict.UNKNOWN_APPLIED] == 2  # UNKNOWN, yet the server acted
    assert report.verdicts[Verdict.AGREE] > 10  # FATAL and not applied; SUCCESS and applied
    assert not any(verdict.alarm for verdict in report.verdicts)  # no broken promise


async def test_a_window_in_a_room_holds_its_calls_against_that_rooms_truth() -> None:
    """Its truth feed is the room's: from the default room's, every SUCCESS would be a call
    the server "never saw", a broken promise."""
    config = ServerConfig(port=0, layout="small", seed=1, trace=True)
    async with running_server(config) as server:
        url = room_url(server.url or "", "alpha")
        report = await run_window(url, "roomed", exit_after=1.5, inspector=True)
    assert not any(verdict.alarm for verdict in report.verdicts), report.verdicts
    assert report.verdicts[Verdict.AGREE] > 10


async def test_a_window_in_a_room_says_so_and_reads_the_rooms_keepalive_table(
    start_server: StartServer,
) -> None:
    server = await start_server()
    url = room_url(server.url or "", "alpha")
    async with RemoteBoard(url, "alice") as board:
        assert (await board.join()).ok
        hud = Hud(board)
        assert title(board) == f"pacnet - alice in room alpha on {server.url}"
        assert "room alpha, connected" in hud.calls_line()
        following = asyncio.create_task(hud.keepalive.run())
        try:
            async with asyncio.timeout(3000 * MS):
                await hud.keepalive.changed.wait()
        finally:
            following.cancel()
        # the default room's table has no alice: it would say she is not among its silent
        assert hud.keepalive_words()[0].startswith("the server heard from you")
    assert hud.watch.url == f"{server.url}/faults"  # the whole server's


async def test_a_server_restart_breaks_no_promise_in_the_window(tmp_path: Path) -> None:
    """The restarted server remembers none of the requests made before: they are no evidence
    either way, never a SUCCESS it "never saw"."""
    first = ServerConfig(port=0, layout="small", seed=1, trace=True, state=tmp_path / "game")
    live = WindowReport()
    async with running_server(first) as server:
        url = server.url or ""
        window = asyncio.create_task(
            run_window(url, "restarted", exit_after=4.0, report=live, inspector=True)
        )
        await asyncio.sleep(1.5)
    # Stopped, its game saved; a new server on the same port resumes the game.
    async with running_server(replace(first, port=int(url.rsplit(":", 1)[1]))):
        report = await window
    assert not any(verdict.alarm for verdict in report.verdicts), report.verdicts
    assert report.verdicts[Verdict.AGREE] > 10
    assert report.verdicts[Verdict.BEFORE_SERVER_LOG] > 0  # the calls in flight at the stop


async def test_the_window_retries_failed_calls_and_counts_their_attempts() -> None:
    async with running_server(ServerConfig(port=0, layout="small", seed=1)) as server:
        url = server.url or ""
        await switch_on(server, kind="update_fails", action="findAll", count=2)
        report = await run_window(url, "retrying", exit_after=1.5, hud=True)
    assert report.attempts.count("findAll", Outcome.RETRYABLE) == 2  # every failure was seen
    assert report.tally.count("findAll", Outcome.RETRYABLE) == 0  # and the call recovered
    assert report.attempts.total() == report.tally.total() + 2


async def test_when_the_server_gives_up_on_the_window_it_joins_again_by_itself() -> None:
    limits = ServerLimits(keepalive_timeout=0.6)
    async with running_server(
        ServerConfig(port=0, layout="small", seed=1, limits=limits)
    ) as server:
        live = WindowReport()
        window = asyncio.create_task(
            run_window(server.url or "", "forgotten", exit_after=3.5, report=live)
        )
        await asyncio.sleep(0.6)
        press(pygame.K_F7)  # the network goes down for longer than the keepalive timeout
        await asyncio.sleep(1.2)
        assert "forgotten" not in server.game.sessions  # the server gave up on us
        press(pygame.K_F7)
        report = await window
        back = "forgotten" in server.game.sessions
    assert report.rejoins == 1
    assert back  # joined again, by itself
    assert report.tally.count("join", Outcome.SUCCESS) == 2


def test_the_outcome_headers_of_the_h_panel_stand_apart_and_fit_the_window() -> None:
    """Each of the five outcomes' headers ends before the next begins (POST_FAILED once ran
    into RETRYABLE), and all five fit the panel of a window on the default maze."""
    from pacnet.server.config import ServerConfig
    from pacnet.server.layout import load_layout

    pygame.font.init()
    header, counts = pygame.font.Font(None, 15), pygame.font.Font(None, 18)
    columns = outcome_columns(header, counts)
    space = header.size("  ")[0]  # at least two spaces' width between one and the next
    for outcome, x, after in zip(Outcome, columns, columns[1:], strict=False):
        assert x + header.size(outcome.value)[0] + space <= after
        assert x + counts.size("99999")[0] + space <= after
    panel_width = load_layout(ServerConfig().layout).width * TILE - 16
    assert columns[-1] + header.size(list(Outcome)[-1].value)[0] <= panel_width


async def test_a_new_exercise_starts_the_windows_counts_afresh() -> None:
    """A scenario's step or ``chaos clear``: the server says a new exercise began, and the
    window's counts start from zero, so a FATAL on screen is this exercise's."""
    async with running_server(ServerConfig(port=0, layout="small", seed=1)) as server:
        url = server.url or ""
        async with RemoteBoard(url, "counted") as board:
            hud = Hud(board)
            watching = asyncio.create_task(hud.watch.run())
            try:
                assert (await board.join()).ok
                await board.find()
                async with asyncio.timeout(2000 * MS):
                    await hud.watch.changed.wait()  # the feed's first snapshot
                hud.watch.changed.clear()
                assert not hud.follow_exercise()  # the first sight is no change
                assert board.tally.total() == 2
                async with AdminClient(url, server.admin.token) as admin:
                    assert (await admin.mark("step 2: the network drops replies")).ok
                async with asyncio.timeout(2000 * MS):
                    await hud.watch.changed.wait()  # the mark, on the feed
                assert hud.follow_exercise()
            finally:
                watching.cancel()
    assert board.tally.total() == 0
    assert hud.exercise is not None
    assert hud.exercise.label == "step 2: the network drops replies"
    assert hud.exercise_counts() == []  # what the room hears starts afresh too


async def test_c_clears_the_windows_screen_not_what_the_room_hears() -> None:
    """The room's totals are cumulative over the exercise: C clears the player's own counts,
    and the window still reports the calls it cleared."""
    async with (
        running_server(ServerConfig(port=0, layout="small", seed=1)) as server,
        RemoteBoard(server.url or "", "pressing-c") as board,
    ):
        hud = Hud(board)
        assert (await board.join()).ok
        await board.find()
        hud.reset_counts()  # C
        await board.find()
    assert board.tally.total() == 1
    assert {(c.action, c.outcome, c.calls) for c in hud.exercise_counts()} == {
        ("join", Outcome.SUCCESS, 1),
        ("find", Outcome.SUCCESS, 2),
    }


async def test_the_calls_panel_says_when_the_retry_budget_pauses_retries() -> None:
    """Nine failures in ten: retrying would triple the load on a sick server, so the budget
    stops it, and the window says so rather than leaving the room to wonder."""
    async with running_server(ServerConfig(port=0, layout="small", seed=1)) as server:
        url = server.url or ""
        async with RemoteBoard(url, "budgeted", policy=RetryPolicy()) as board:
            hud = Hud(board)
            assert (await board.join()).ok
            assert "retries paused" not in hud.calls_line()
            await switch_on(server, kind="update_fails", action="findAll")
            for _ in range(4):
                await board.find_all(":ghost")
            paused = hud.calls_line()
    assert paused.endswith("retry budget spent: retries paused"), paused
    assert board.attempts.total() > board.tally.total()  # it did retry, until the budget ran out


async def test_the_inspector_keeps_a_one_off_failure_on_show_and_can_be_paused() -> None:
    """Step 2's single UNKNOWN lasted a third of a second among 24 calls a second: pinned, it
    stays until dismissed; paused, the rows stop moving."""
    async with (
        running_server(ServerConfig(port=0, layout="small", seed=1)) as server,
        RemoteBoard(server.url or "", "inspected", timeouts=Timeouts(reply=200 * MS)) as board,
    ):
        hud = Hud(board)
        hud.record(await board.join())
        await switch_on(server, kind="no_reply", action="find", count=1)
        hud.record(lost := await board.find())
        for _ in range(20):
            hud.record(await board.find_all(":ghost"))
        rows = hud.inspector_rows()
        assert len(rows) == 8
        assert rows[0] == ((lost, rows[0][0][1]), True)  # pinned, 20 calls later
        assert lost.outcome is Outcome.UNKNOWN
        hud.pause()
        frozen = hud.inspector_rows()
        hud.record(await board.find_all(":ghost"))
        assert hud.inspector_rows() == frozen
        hud.pause()
        hud.dismiss()
        assert not any(pinned for _, pinned in hud.inspector_rows())
        assert hud.inspector_rows()[-1][0][0].action == "findAll"


async def test_fullscreen_takes_the_whole_screen_and_f11_gives_the_window_back() -> None:
    """For a projector: the frame scaled to the screen, black bars keeping the maze's shape."""
    async with running_server(ServerConfig(port=0, layout="small", seed=1)) as server:
        url = server.url or ""
        full = await run_window(url, "projected", exit_after=0.5, fullscreen=True)
        windowed = WindowReport()
        window = asyncio.create_task(
            run_window(url, "projected2", exit_after=1.5, fullscreen=True, report=windowed)
        )
        await asyncio.sleep(0.7)
        press(pygame.K_F11)  # back to a window of the frame's own size
        await window
    frame = (17 * TILE, 11 * TILE + 2 * HUD)  # the small maze's own size
    assert full.screen[0] > frame[0]
    assert full.screen[1] > frame[1]
    assert windowed.screen == frame


async def test_a_window_reports_its_outcomes_every_second() -> None:
    opened_ms = int(time.time() * 1000)
    async with running_server(ServerConfig(port=0, layout="small", seed=1)) as server:
        report = await run_window(server.url or "", "reporting", exit_after=2500 * MS)
        room = server.game.reports.view(now=asyncio.get_running_loop().time())
    (player,) = room.players
    reported = {(c.action, c.outcome): c.calls for c in player.counts}
    assert (
        0 < reported[("findAll", Outcome.SUCCESS)] <= report.tally.count("findAll", Outcome.SUCCESS)
    )
    # numbered from the wall clock, so a window opened again goes on counting up
    assert player.seq > opened_ms


BOARD_COLOURS = {
    BLACK,
    WALL,
    DOOR,
    PELLET,
    PACMAN,
    FRIGHTENED,
    FLASH,
    (255, 255, 255),
    *GHOSTS.values(),
}
"""Every colour the board is drawn in (eyes white and blue, frightened eyes pellet-coloured):
none of them antialiased, so any other colour on the board is something drawn over it."""
CLASSIC = (28 * TILE, 31 * TILE + 2 * HUD)
"""The classic maze's board, at its own size."""


def colours(image: pygame.Surface, box: Box) -> set[tuple[int, int, int]]:
    """Every colour in ``box`` of ``image``."""
    raw = pygame.image.tobytes(image.subsurface(box), "RGB")
    return set(zip(raw[0::3], raw[1::3], raw[2::3], strict=True))


def resize_window(size: tuple[int, int]) -> None:
    """Resize the open window as a player dragging its corner would."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # resized only, never drawn on
        pygame.Window.from_display_module().size = size


def assert_the_whole_board_shows_clear_of_the_panels(report: WindowReport) -> None:
    """What the window shows now (read between two frames): every wall of the maze where it
    belongs, the pac-man at its start, nothing over the maze, and both panels beside it."""
    screen = pygame.display.get_surface().copy()
    board, column = report.board_shown, report.column_shown
    assert column is not None
    assert not pygame.Rect(board).colliderect(column)
    assert pygame.Rect(screen.get_rect()).contains(board)
    factor = board[2] / CLASSIC[0]
    assert board[3] == pytest.approx(CLASSIC[1] * factor, abs=1)  # the maze keeps its shape
    # The walls, drawn alone and scaled to the board's size: each must show, give or take a
    # pixel (the window scales the whole frame, so its rounding may differ by one).
    walls = pygame.transform.scale(draw_maze(load_layout("classic").rows(), CLASSIC), board[2:])
    wall = pygame.mask.from_threshold(walls, (*WALL, 255), (1, 1, 1, 255))
    seen = pygame.mask.from_threshold(screen.subsurface(board), (*WALL, 255), (1, 1, 1, 255))
    near = seen.convolve(pygame.mask.Mask((3, 3), fill=True), None, (-1, -1))
    hidden = wall.count() - wall.overlap_area(near, (0, 0))
    assert hidden < wall.count() / 100, f"{hidden} of {wall.count()} wall pixels hidden"
    edges = pygame.Rect(wall.get_bounding_rects()[0]).unionall(wall.get_bounding_rects())
    assert (edges.left, edges.right) == (0, board[2])  # the tunnels reach both edges of the
    # board, so every column of tiles was checked
    sx, sy = load_layout("classic").pacman_start
    mouth = ((sx + 0.75) * TILE, (sy + 0.5) * TILE + HUD)  # behind the mouth, facing left
    at = (board[0] + int(mouth[0] * factor), board[1] + int(mouth[1] * factor))
    assert tuple(screen.get_at(at))[:3] == PACMAN
    maze = (board[0], board[1] + round(HUD * factor), board[2], round(31 * TILE * factor))
    assert colours(screen, maze) <= BOARD_COLOURS  # no text, no panel over the maze
    panels = colours(screen, column)
    success = pygame.Color(Outcome.SUCCESS.colour)
    assert (success.r, success.g, success.b) in panels  # the calls panel's heading
    assert (150, 200, 255) in panels  # its keepalive line
    assert tuple(success.lerp(BLACK, 0.55))[:3] in panels  # the inspector's passed steps


def with_both_panels(
    url: str, name: str, exit_after: float, fullscreen: bool = False
) -> tuple[asyncio.Task[WindowReport], WindowReport]:
    """A window with the calls panel and the inspector open, running; and its live report."""
    live = WindowReport()
    window = run_window(
        url, name, exit_after=exit_after, hud=True, inspector=True, report=live,
        fullscreen=fullscreen,
    )  # fmt: skip
    return asyncio.create_task(window), live


def column_side(report: WindowReport) -> str:
    """Where the panels' column was last shown: to the "right" of the board, or "below"."""
    (x, y, width, height), column = report.board_shown, report.column_shown
    assert column is not None
    if column[0] >= x + width:
        return "right"
    assert column[1] >= y + height
    return "below"


CALM = ServerConfig(port=0, layout="classic", seed=1, calm=True)
"""The classic maze, with ghosts that catch nobody: the pac-man stays at its start."""


@pytest.mark.parametrize(
    "size",
    [None, (1920, 1080), "fullscreen"],
    ids=["default-window", "window-resized-to-1920x1080", "full-screen"],
)
async def test_with_both_panels_open_the_whole_board_shows_beside_them(
    size: tuple[int, int] | str | None,
) -> None:
    """The calls panel and the inspector once covered two thirds of the board and every
    pac-man's start row; now they have a column of their own."""
    async with running_server(CALM) as server:
        window, live = with_both_panels(server.url or "", "beside", 2.0, size == "fullscreen")
        await asyncio.sleep(0.5)
        if isinstance(size, tuple):
            resize_window(size)
        await asyncio.sleep(0.8)
        assert_the_whole_board_shows_clear_of_the_panels(live)
        if size is None:  # the window grew to hold the panels: the board kept its own size
            assert live.board_shown == (0, 0, *CLASSIC)
        else:  # a bigger screen, a bigger board (the dummy driver's screen is 1024 x 768)
            assert live.board_shown[2] > CLASSIC[0]
        if size == (1920, 1080):
            assert live.board_shown[3] > 0.9 * 1080  # a wide screen: nearly its whole height
        assert column_side(live) == "right"
        await window


async def test_a_window_resized_with_the_panels_open_keeps_them_beside_or_below_the_board() -> None:
    """Landscape: the column to the right; portrait: below; the board whole in both."""
    async with running_server(CALM) as server:
        window, live = with_both_panels(server.url or "", "resized", 2.5)
        await asyncio.sleep(0.5)
        resize_window((1280, 720))
        await asyncio.sleep(0.5)
        assert live.screen == (1280, 720)
        assert_the_whole_board_shows_clear_of_the_panels(live)
        assert column_side(live) == "right"
        resize_window((720, 1280))
        await asyncio.sleep(0.5)
        assert live.screen == (720, 1280)
        assert_the_whole_board_shows_clear_of_the_panels(live)
        assert column_side(live) == "below"
        assert live.board_shown[2] > CLASSIC[0]  # beside, it would be three quarters of that
        await window


async def test_opening_a_panel_widens_an_unresized_window_and_closing_it_narrows_it_back() -> None:
    async with running_server(ServerConfig(port=0, layout="classic", seed=1)) as server:
        live = WindowReport()
        window = asyncio.create_task(
            run_window(server.url or "", "widened", exit_after=2.0, report=live)
        )
        await asyncio.sleep(0.5)
        assert live.screen == CLASSIC
        press(pygame.K_h)
        await asyncio.sleep(0.3)
        opened = live.screen, live.board_shown, live.column_shown
        press(pygame.K_h)
        await window
    assert opened[0][0] > CLASSIC[0] + 400  # wider by the column
    assert opened[1] == (0, 0, *CLASSIC)  # the board at its own size
    assert opened[2] is not None
    assert live.screen == CLASSIC
    assert live.column_shown is None


@pytest.mark.parametrize(
    ("window", "beside"),
    [
        (None, True),
        ((1920, 1080), True),
        ((1024, 768), True),
        ((1080, 1920), False),
        ((600, 900), False),
    ],
    ids=["unresized-beside", "1920x1080-beside", "1024x768-beside", "portrait-below",
         "narrow-below"],
)  # fmt: skip
def test_the_column_goes_where_the_board_comes_out_biggest(
    window: tuple[int, int] | None, beside: bool
) -> None:
    column = (488, 590)
    layout = arrange(CLASSIC, column, window)
    assert layout.beside is beside
    assert layout.column is not None
    assert not pygame.Rect(layout.board).colliderect(layout.column)
    frame = pygame.Rect(0, 0, *layout.frame)
    assert frame.contains(layout.board)
    assert frame.contains(layout.column)
    assert layout.board[2:] == CLASSIC
    assert layout.column[2:] >= column
