"""`qa serve` for real (uvicorn on a loopback port): the start-up that answers early and talks,
and the guard in front of the API and the page (hosts, origins, bodies, logins, headers)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from pathlib import Path

import pytest

from qa.errors import QAError
from tests.conftest import FakeEmbedder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request(method, path, body=body, headers={"Host": f"127.0.0.1:{port}", **(headers or {})})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data


def _ask(port: int, payload: object, **headers) -> tuple[int, dict, bytes]:
    return _request(port, "POST", "/api/ask", json.dumps(payload).encode(), {"Content-Type": "application/json", **headers})


@pytest.fixture
def served(tmp_path: Path, tiny_seeds: Path, monkeypatch, capsys):
    """serve() in a thread; the chat page's build waits for `release` so the test sees the start."""
    import qa_ui.app as app_module
    import qa_ui.server as server_module
    from qa.build import build_index
    from qa.seeds import read_seeds
    from qa.service import Assistant
    from qa.settings import Settings

    build_index(read_seeds(tiny_seeds), tmp_path / "index", FakeEmbedder())
    release = threading.Event()
    real_build_app = app_module.build_app

    def slow_build_app(*args, **kwargs):
        release.wait(60)
        return real_build_app(*args, **kwargs)

    monkeypatch.setattr(app_module, "build_app", slow_build_app)
    settings = Settings(index_dir=tmp_path / "index", abstain_below=0.0)
    port, stop = _free_port(), threading.Event()
    thread = threading.Thread(target=server_module.serve, kwargs={
        "settings": settings, "port": port, "assistant": Assistant(settings, embedder=FakeEmbedder()), "stop": stop, "read_only": True})
    thread.start()
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port, release, capsys
    release.set()
    stop.set()
    thread.join(30)
    assert not thread.is_alive()


def test_the_api_answers_before_the_page_is_ready_and_the_page_says_starting(served):
    port, release, capsys = served
    status, _, body = _ask(port, {"question": "Who is the mayor?"})
    assert status == 200 and json.loads(body)["citations"]
    status, headers, page = _request(port, "GET", "/")
    assert status == 200 and b"qa is starting" in page and b'http-equiv="refresh"' in page
    release.set()
    deadline = time.time() + 90
    while time.time() < deadline and b"gradio" not in page.lower():
        time.sleep(0.2)
        _, _, page = _request(port, "GET", "/")
    assert b"gradio" in page.lower() and b"qa is starting" not in page
    out = capsys.readouterr().out
    steps = ["loading the index and the models", "index loaded: 3 articles", "answering questions at http://127.0.0.1", "qa chat on http://127.0.0.1"]
    positions = [out.find(s) for s in steps]
    assert -1 not in positions and positions == sorted(positions), out


def test_the_guard(served):
    port, release, _ = served
    release.set()
    question = {"question": "Who is the mayor?"}
    # DNS rebinding: only the served host names answer
    assert _ask(port, question, Host="attacker.example")[0] == 400
    assert _ask(port, question, Host=f"localhost:{port}")[0] == 200
    # cross-origin calls and preflights are refused, with no CORS headers
    assert _ask(port, question, Origin="http://localhost:9999")[0] == 403
    status, headers, _ = _request(port, "OPTIONS", "/api/ask", headers={"Origin": "http://localhost:9999", "Access-Control-Request-Method": "POST"})
    assert status == 403 and not any(k.startswith("access-control-") for k in headers)
    status, _, _ = _ask(port, question, Origin=f"http://127.0.0.1:{port}")  # the page itself
    assert status == 200
    # bodies: JSON only, bounded, nested or long inputs are one clear 400
    assert _request(port, "POST", "/api/ask", json.dumps(question).encode(), {"Content-Type": "text/plain"})[0] == 415
    assert _request(port, "POST", "/api/ask", b"[" * 100_000, {"Content-Type": "application/json"})[0] == 413
    status, _, body = _request(port, "POST", "/api/ask", b"[" * 20_000 + b"]" * 20_000, {"Content-Type": "application/json"})
    assert status == 400 and b"must be JSON" in body
    status, _, body = _ask(port, {"question": "Who?", "history": ["x"] * 25_000})
    assert status in (400, 413)
    status, _, body = _ask(port, {"question": "Who?", "history": ["x" * 5000]})
    assert status == 400 and b"history item 1 is 5,000 characters long" in body
    # uploads are not accepted; every response forbids framing
    status, headers, _ = _request(port, "POST", "/gradio_api/upload", b"x" * 1000, {"Content-Type": "application/octet-stream"})
    assert status == 403
    assert headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in headers["content-security-policy"]


def test_filters_and_the_openapi_schema(served):
    port, release, _ = served
    release.set()
    status, _, body = _ask(port, {"question": "Who is the mayor?", "filters": {"articles": ["comet.txt"]}})
    reply = json.loads(body)
    assert status == 200 and {c["article_id"] for c in reply["citations"] + reply["closest"]} == {"comet.txt"}
    status, _, body = _ask(port, {"question": "Who is the mayor?", "filters": {"sources": ["the example times"]}})
    assert status == 200 and {c["article_id"] for c in json.loads(body)["citations"]} == {"harbour.txt"}
    for bad, message in (({"since": "yesterday"}, "'filters.since' must be a date"), ({"sources": "Times"}, "'filters.sources' must be a list"),
                         ("Times", "'filters' must be an object"), ({"sources": ["Nowhere"]}, "no article matches the filters")):
        status, _, body = _ask(port, {"question": "Who is the mayor?", "filters": bad})
        assert status == 400 and message in json.loads(body)["error"], body
    status, _, body = _request(port, "GET", "/api/openapi.json")
    schema = json.loads(body)
    assert status == 200 and set(schema["paths"]) >= {"/api/ask", "/api/status"}
    request = schema["paths"]["/api/ask"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert request == {"$ref": "#/components/schemas/AskIn"}
    ask_in = schema["components"]["schemas"]["AskIn"]
    assert ask_in["required"] == ["question"] and ask_in["properties"]["question"]["maxLength"] == 2000
    assert {"FiltersIn", "TurnIn", "AnswerOut", "CitationOut"} <= set(schema["components"]["schemas"])


def test_failed_logins_are_slowed_down(tmp_path: Path, tiny_seeds: Path):
    from qa.build import build_index
    from qa.seeds import read_seeds
    from qa.service import Assistant
    from qa.settings import Settings
    from qa_ui.api import LOGIN_FAILURES, Guard, build_api
    from qa_ui.background import Server

    build_index(read_seeds(tiny_seeds), tmp_path / "i", FakeEmbedder())
    app = Guard(build_api(Assistant(Settings(index_dir=tmp_path / "i"), embedder=FakeEmbedder()), auth=("ann", "s3cret")))
    with Server(app) as server:
        codes = [_ask(server.port, {"question": "Who?"}, Authorization="Basic YW5uOndyb25n")[0] for _ in range(LOGIN_FAILURES + 3)]
        assert codes[:LOGIN_FAILURES] == [401] * LOGIN_FAILURES and set(codes[LOGIN_FAILURES:]) == {429}
        # the right login from the same address waits too (no probing around the limit)
        assert _ask(server.port, {"question": "Who?"}, Authorization="Basic YW5uOnMzY3JldA==")[0] == 429


def test_served_hosts():
    from qa_ui.server import served_hosts

    assert served_hosts("127.0.0.1", []) == {"127.0.0.1"}
    assert served_hosts("192.168.1.5", ["qa.lan"]) == {"192.168.1.5", "qa.lan"}
    assert served_hosts("0.0.0.0", []) is None  # a wildcard bind answers any name (with --auth advised)
    assert served_hosts("0.0.0.0", ["qa.lan"]) == {"0.0.0.0", "qa.lan"}


def test_serve_warns_beyond_loopback_without_auth(capsys, monkeypatch):
    import qa_ui.server as server_module
    from qa.settings import Settings

    class Stop(Exception):
        pass

    def stop_here(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(server_module, "Assistant", stop_here)
    port = _free_port()
    for host, auth, warned in (("0.0.0.0", None, True), ("0.0.0.0", "ann:pw", False), ("127.0.0.1", None, False)):
        with pytest.raises(Stop):
            server_module.serve(Settings(), host=host, port=port, auth=auth)
        err = capsys.readouterr().err
        assert ("warning: serving on 0.0.0.0 without --auth" in err) is warned
        # strangers do not get to change the index: no Articles tab beyond loopback without a login
        assert ("adding and removing articles from the page is off" in err) is warned


def test_serve_refuses_a_taken_port_and_a_bad_one():
    from qa_ui.server import check_can_listen

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(QAError, match="cannot listen on 127.0.0.1"):
            check_can_listen("127.0.0.1", s.getsockname()[1])
    with pytest.raises(QAError, match="use 1-65535"):
        check_can_listen("127.0.0.1", 70000)
