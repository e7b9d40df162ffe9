"""The JSON API and the guard in front of everything the server answers.

`POST /api/ask` takes {"question": str, "history": [...]} and returns the object
`qa ask --json` prints; `GET /api/status` returns the index status. Both answer 503 with the
one-line message when the index is missing or damaged, and are bounded like Gradio's queue:
`Settings.concurrency` answers at once, at most `Settings.queue_size` waiting, beyond that
503 "busy" at once.

`Guard` wraps the whole app (API and chat page), as a plain ASGI middleware:
- Host allow-list: a request whose Host header is not one of the served names is refused
  (400), so a web page on another domain cannot reach a loopback server through DNS
  rebinding. Loopback names always; the bound address; `--allow-host` names.
- Cross-origin calls are refused (403) unless their origin is allowed: a preflight gets no
  CORS headers, and CORS headers a library adds are stripped.
- Failed logins are slowed down: after `LOGIN_FAILURES` in a minute from one client, its
  login attempts get 429 for the rest of that minute.
- Every response says it may not be framed (X-Frame-Options, CSP frame-ancestors), nor
  sniffed, nor leak a referrer.
- Uploads are refused unless the page offers them.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable, Collection
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from qa.errors import QAError
from qa.filters import Filters
from qa.service import Assistant

MAX_BODY_BYTES = 64 * 1024  # a 2,000-character question with a long conversation fits
MAX_HISTORY = 50
LOGIN_FAILURES = 10
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def check_auth(header: str, auth: tuple[str, str] | None) -> bool:
    """HTTP basic credentials against the configured login (always true without one)."""
    if auth is None:
        return True
    if not header.lower().startswith("basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    return secrets.compare_digest(user, auth[0]) and secrets.compare_digest(password, auth[1])


class CitationOut(BaseModel):
    n: int
    article_id: str
    title: str
    source: str
    date: str = Field(description="the article's date, ISO (metadata, else its text, else its file)")
    sentence_index: int = Field(description="from 0, within the article")
    paragraph: int
    start: int = Field(description="character offset into the article's text")
    end: int
    text: str = Field(description="the sentence, verbatim")
    score: float
    page: int | None = Field(None, description="the page, for a PDF")


class TurnIn(BaseModel):
    question: str
    answer: str | None = Field(None, description="the earlier reply's text (or its quoted sentences)")
    citations: list[dict] | None = Field(None, description="the earlier reply's citations: [{text, title}, ...]")
    short_answer: str | None = None


class FiltersIn(BaseModel):
    sources: list[str] = Field(default_factory=list, description="only articles of these sources")
    since: str | None = Field(None, description="only articles of this day or later (YYYY-MM-DD)")
    until: str | None = Field(None, description="only articles of this day or earlier (YYYY-MM-DD)")
    articles: list[str] = Field(default_factory=list, description="only these article ids")


class AskIn(BaseModel):
    """A question, the conversation so far (oldest first) and optional filters."""

    question: str = Field(max_length=2000)
    history: list[str | TurnIn] = Field(default_factory=list, max_length=MAX_HISTORY,
                                        description="earlier turns: questions, or {question, answer|citations} objects")
    filters: FiltersIn | None = None


class AnswerOut(BaseModel):
    """What `qa ask --json` prints."""

    question: str
    query: str = Field(description="the question as understood (follow-ups resolved)")
    answer: str
    abstained: bool
    short_answer: str | None
    note: str | None = Field(description="for a question about now: e.g. 'from the newest of 4 articles about it, of 8 August 2020; the newest article is of …'")
    citations: list[CitationOut]
    closest: list[CitationOut] = Field(description="when abstaining: the nearest sentences, not an answer")
    timings_ms: dict[str, float]


def parse_filters(body: Any) -> Filters | None:
    """Filters from the body's "filters" object; ValueError says what is wrong."""
    raw = body.get("filters") if isinstance(body, dict) else None
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("'filters' must be an object: {\"sources\", \"since\", \"until\", \"articles\"}")
    for key in ("sources", "articles"):
        if not isinstance(raw.get(key, []), list) or not all(isinstance(x, str) for x in raw.get(key, [])):
            raise ValueError(f"'filters.{key}' must be a list of strings")
    for key in ("since", "until"):
        if not isinstance(raw.get(key) or "", str):
            raise ValueError(f"'filters.{key}' must be a date like 2025-02-18")
    try:
        return Filters.of(raw.get("sources", []), raw.get("since"), raw.get("until"), raw.get("articles", []), prefix="filters.")
    except QAError as exc:
        raise ValueError(str(exc)) from None


def parse_ask(body: Any, max_chars: int) -> tuple[str, list]:
    """(question, history) from a decoded body; ValueError says what is wrong."""
    if not isinstance(body, dict) or not isinstance(body.get("question"), str):
        raise ValueError("'question' must be a string")
    history = body.get("history", [])
    if not isinstance(history, list):
        raise ValueError("'history' must be a list (earlier turns, oldest first)")
    if len(history) > MAX_HISTORY:
        raise ValueError(f"'history' has {len(history):,} turns; the limit is {MAX_HISTORY}: send the latest ones")
    for n, turn in enumerate(history, 1):
        text = turn if isinstance(turn, str) else turn.get("question") if isinstance(turn, dict) else None
        if not isinstance(text, str):
            raise ValueError(f"history item {n} must be a string or an object with a 'question' string")
        if len(text) > max_chars:
            raise ValueError(f"history item {n} is {len(text):,} characters long; the limit is {max_chars:,}")
    return body["question"], history


def build_api(assistant: Assistant, auth: tuple[str, str] | None = None) -> FastAPI:
    """The FastAPI app with the JSON API (the chat page is mounted on it by ui/app.py)."""
    import anyio

    app = FastAPI(title="qa", version="0.1.0", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json",
                  description="Answers questions about a folder of news articles, citing the exact sentences.")
    settings = assistant.settings
    limiter = anyio.CapacityLimiter(settings.concurrency)
    waiting = {"n": 0}

    def denied() -> JSONResponse:
        return JSONResponse({"error": "login required (HTTP basic auth)"}, status_code=401, headers={"WWW-Authenticate": "Basic"})

    @app.post("/api/ask", responses={200: {"model": AnswerOut}, 400: {"description": "a bad question, history or filter"},
                                       503: {"description": "no index, a damaged one, or too busy"}},
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AskIn"}}}}})
    async def api_ask(request: Request) -> JSONResponse:
        if not check_auth(request.headers.get("authorization", ""), auth):
            return denied()
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return JSONResponse({"error": "send the body as Content-Type: application/json"}, status_code=415)
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY_BYTES:
                return JSONResponse({"error": f"the body is over {MAX_BODY_BYTES // 1024} KB; send a shorter question and history"}, status_code=413)
        try:
            body = json.loads(raw)
            question, history = parse_ask(body, settings.max_question_chars)
            filters = parse_filters(body)
        except (ValueError, RecursionError) as exc:
            why = "body must be JSON: {\"question\": \"...\", \"history\": [...]}" if not isinstance(exc, ValueError) or isinstance(exc, json.JSONDecodeError) else str(exc)
            return JSONResponse({"error": why}, status_code=400)
        if waiting["n"] >= settings.queue_size + settings.concurrency:
            return JSONResponse({"error": "busy: too many questions waiting; try again in a moment"}, status_code=503)
        waiting["n"] += 1
        try:
            ans = await anyio.to_thread.run_sync(lambda: assistant.ask(question, history=history, filters=filters), limiter=limiter)
        except QAError as exc:
            return JSONResponse({"error": str(exc)}, status_code=503 if exc.exit_code == 3 else 400)
        finally:
            waiting["n"] -= 1
        return JSONResponse(ans.to_dict())

    def openapi() -> dict:
        """FastAPI's schema, with the request body it cannot see (read by hand, for its limits)."""
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            request = AskIn.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(request.pop("$defs", {}))
            components["AskIn"] = request
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/api/status")
    async def api_status(request: Request) -> JSONResponse:
        if not check_auth(request.headers.get("authorization", ""), auth):
            return denied()
        try:
            s = assistant.status()
        except QAError as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
        return JSONResponse({"articles": s.articles, "sentences": s.sentences, "built_at": s.built_at, "model": s.model, "version": s.version})

    return app


def _host_name(value: str) -> str:
    """The host part of a Host header or an origin's netloc, lower case, without the port."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Guard:
    """ASGI middleware: host allow-list, same-origin only, login throttling, security headers."""

    def __init__(self, app: Callable, hosts: Collection[str] | None = (), origins: Collection[str] | None = None, uploads: bool = False) -> None:
        self.app = app
        self.hosts = None if hosts is None else {h.lower() for h in hosts} | set(LOOPBACK)  # None: any host
        self.origins = {o.lower().rstrip("/") for o in origins or set()}
        self.uploads = uploads
        self.failures: dict[str, deque] = defaultdict(deque)

    async def _reply(self, send: Callable, status: int, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": body})

    def _throttled(self, client: str) -> bool:
        q = self.failures[client]
        now = time.monotonic()
        while q and now - q[0] > 60:
            q.popleft()
        return len(q) >= LOGIN_FAILURES

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if self.hosts is not None and _host_name(host) not in self.hosts:
            await self._reply(send, 400, f"host {host!r} is not served here; pass --allow-host to serve it")
            return
        origin = headers.get("origin")
        if origin and origin != "null":
            netloc = origin.split("://", 1)[-1].rstrip("/").lower()
            if netloc != host.lower() and origin.lower().rstrip("/") not in self.origins:
                await self._reply(send, 403, "cross-origin requests are refused")
                return
        path = scope.get("path", "")
        if not self.uploads and path.rstrip("/").endswith("/upload"):
            await self._reply(send, 403, "uploads are not accepted here")
            return
        client = (scope.get("client") or ("?", 0))[0]
        login = path.rstrip("/").endswith("/login") or "authorization" in headers
        if login and self._throttled(client):
            await self._reply(send, 429, "too many failed logins from this address; wait a minute")
            return

        async def guarded_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if not k.lower().startswith(b"access-control-")]
                message = {**message, "headers": kept + SECURITY_HEADERS}
                if login and message["status"] in (400, 401, 403):
                    self.failures[client].append(time.monotonic())
            await send(message)

        await self.app(scope, receive, guarded_send)
