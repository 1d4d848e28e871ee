"""The pages the server and the proxy serve on the game's own port, over plain HTTP: a GET is
a page, a WebSocket handshake on the same path is the game."""

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest

from pacnet.client.remote import RemoteBoard
from pacnet.protocol.classify import Observed, classification, classify
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.outcome import Outcome, Step
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import running_proxy
from pacnet.server.net import BoardServer
from tests.conftest import ServerProcess


def get(url: str, path: str) -> tuple[int, str, bytes]:
    """Status, content type and body of a plain GET of ``path`` on the ws:// ``url``."""
    http = url.replace("ws://", "http://", 1) + path
    try:
        with urllib.request.urlopen(http, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


async def aget(url: str, path: str) -> tuple[int, str, bytes]:
    """``get`` from a test whose event loop runs the server: the request gets a thread."""
    return await asyncio.to_thread(get, url, path)


async def test_a_plain_get_is_the_page_and_a_handshake_on_the_same_path_is_the_game(
    server: BoardServer,
) -> None:
    assert server.url is not None
    status, kind, body = await aget(server.url, "/?name=alice")
    assert (status, kind) == (200, "text/html; charset=utf-8")
    assert body.lstrip().lower().startswith(b"<!doctype html>")
    async with RemoteBoard(server.url, "8765309") as board:
        assert (await board.join()).ok


async def test_every_static_file_is_served_with_its_type_and_nothing_else_is(
    server: BoardServer,
) -> None:
    assert server.url is not None
    for path in server.site.paths:
        status, kind, body = await aget(server.url, path)
        assert status == 200, path
        assert body, path
        assert kind.split(";")[0] in (
            "text/html", "text/javascript", "text/css", "application/json", "image/svg+xml"
        )  # fmt: skip
    for path in ("/nope", "/static/../pyproject.toml", "/static/site.py", "/static/"):
        assert (await aget(server.url, path))[0] == 404, path


def test_the_classification_the_page_reads_is_the_one_classify_follows(
    server_process: Callable[..., ServerProcess],
) -> None:
    served = json.loads(get(server_process("--no-state").url, "/static/classify.json")[2])
    assert served == classification()
    for observed in Observed:
        assert served["observed"][observed.value] == classify(observed).value
    assert served["outcomes"] == [outcome.value for outcome in Outcome]
    assert set(served["errorSteps"]) == {code.value for code in ErrorCode}
    assert served["steps"] == [step.name for step in Step]  # the inspector's, in order


@pytest.mark.parametrize("where", ["server", "proxy"])
async def test_the_proxy_serves_the_same_pages_so_players_can_open_its_address(
    server: BoardServer, where: str
) -> None:
    assert server.url is not None
    async with running_proxy(ProxyConfig(port=0, upstream=server.url, seed=1)) as proxy:
        assert proxy.url is not None
        url = proxy.url if where == "proxy" else server.url
        assert await aget(url, "/") == await aget(server.url, "/")
        assert (await aget(url, "/static/classify.json"))[0] == 200
