"""`qa serve`: answer as soon as possible, say what is happening, then open the chat page.

Start-up, each step printed as it happens:
1. the port is checked (a taken port or a bad host is one line, before anything loads);
2. the index and the models load (about a second);
3. the server starts with the JSON API live and a "starting" page at /, which reloads
   itself every second: a browser opened early sees that, not an error;
4. the chat page is built (importing Gradio takes seconds on 2 cores) and swapped in
   without a restart (`Switch`), and the URL is printed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable

from qa.errors import QAError
from qa.service import Assistant
from qa.settings import Settings

STARTING_PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="1">
<title>qa is starting</title></head><body style="font-family:sans-serif;margin:3em;color:#333">
<h2>qa is starting</h2><p>The chat page opens by itself in a few seconds.</p></body></html>"""


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_auth(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise QAError("--auth must be USER:PASSWORD, both non-empty")
    return user, password


def check_can_listen(host: str, port: int) -> None:
    """Fails at once, in one line, when the address cannot be bound (port taken, bad host)."""
    if not 0 < port < 65536:
        raise QAError(f"--port {port} is not a port number; use 1-65535")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, _, _, _, addr = infos[0]
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(addr)
    except OSError as exc:
        raise QAError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); is another `qa serve` running? pass --port") from None


def served_hosts(host: str, allow: list[str]) -> set[str] | None:
    """Host names the server answers to: loopback names always, the bound address, --allow-host
    names; None (any) for a wildcard bind without --allow-host."""
    if host in ("0.0.0.0", "::", "") and not allow:
        return None
    return {host, *allow}


class Switch:
    """An ASGI app that serves `current` and can be given a new app while the server runs.

    The new app's own lifespan (Gradio starts its queue there) is driven here, since the
    server started before that app existed, and shut down with the server."""

    def __init__(self, app: Callable) -> None:
        self.current = app
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stops: list[Callable] = []

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            self.loop = asyncio.get_running_loop()
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    for stop in reversed(self._stops):
                        await stop()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await self.current(scope, receive, send)

    async def promote(self, app: Callable) -> None:
        """Runs `app`'s lifespan startup, then routes every new request to it."""
        to_app: asyncio.Queue = asyncio.Queue()
        from_app: asyncio.Queue = asyncio.Queue()
        task = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, to_app.get, from_app.put))
        await to_app.put({"type": "lifespan.startup"})
        reply = await from_app.get()
        if reply["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"the chat page did not start: {reply.get('message', reply['type'])}")

        async def stop() -> None:
            await to_app.put({"type": "lifespan.shutdown"})
            await from_app.get()
            await task

        self._stops.append(stop)
        self.current = app


def starting_app(api: Callable) -> Callable:
    """The app served while the chat page is built: the API, and a page that says "starting"."""

    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and not scope.get("path", "").startswith("/api/"):
            await send({"type": "http.response.start", "status": 503 if scope["path"] != "/" else 200,
                        "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"retry-after", b"1")]})
            await send({"type": "http.response.body", "body": STARTING_PAGE})
            return
        await api(scope, receive, send)

    return app


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    allow_hosts: list[str] | None = None,
    assistant: Assistant | None = None,
    stop: threading.Event | None = None,
    read_only: bool = False,
) -> int:
    """`qa serve`: warm up, answer the API at once, then serve the chat page until interrupted
    (or until `stop` is set: tests). The page's Articles tab (upload, remove) is there unless
    `read_only`, and only on loopback or behind --auth: strangers do not get to change the index."""
    import uvicorn

    from qa_ui.api import Guard, build_api
    from qa_ui.app import build_app

    started = time.perf_counter()

    def say(line: str) -> None:
        print(f"{line} ({time.perf_counter() - started:.1f} s)", flush=True)

    credentials = parse_auth(auth)
    check_can_listen(host, port)
    if not _is_loopback(host) and credentials is None:
        print(f"warning: serving on {host} without --auth: anyone who can reach this address can read the articles", file=sys.stderr)
    manage = not read_only and (_is_loopback(host) or credentials is not None)
    if not manage and not read_only:
        print("note: adding and removing articles from the page is off without --auth beyond loopback", file=sys.stderr)
    hosts = served_hosts(host, allow_hosts or [])
    assistant = assistant or Assistant(settings)
    say("loading the index and the models…")
    try:
        assistant.warm_up()
        say(f"index loaded: {assistant.status().line()}")
    except QAError as exc:
        print(f"warning: {exc} (the page will say so until an index exists)", file=sys.stderr)
    switch = Switch(Guard(starting_app(build_api(assistant, credentials)), hosts=hosts))
    server = uvicorn.Server(uvicorn.Config(switch, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.02)
    if not thread.is_alive():
        raise QAError(f"cannot listen on {host}:{port}; is another `qa serve` running? pass --port")
    if threading.current_thread() is threading.main_thread():  # `kill` stops it as cleanly as Ctrl-C
        signal.signal(signal.SIGTERM, _interrupt)
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    say(f"answering questions at {url}/api/ask; starting the chat page…")
    try:
        full = build_app(assistant, credentials, hosts=hosts, manage=manage)
        assert switch.loop is not None
        asyncio.run_coroutine_threadsafe(switch.promote(full), switch.loop).result(timeout=120)
        say(f"qa chat on {url}  (Ctrl-C to stop)")
        while thread.is_alive() and not (stop and stop.is_set()):
            thread.join(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.should_exit = True
        thread.join(10)
    return 0
