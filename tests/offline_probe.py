"""Run by tests/test_offline.py inside `unshare -n` (loopback only): the whole product —
build, ask, eval, and the server answering a chat question — with an audit hook that fails
the run (exit 99) at the first attempt to resolve or reach anything but loopback."""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LOCAL_NAMES = {"localhost", "127.0.0.1", "::1", "", None}


def _is_local(host: object) -> bool:
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return False


def _hook(event: str, args: tuple) -> None:
    host = None
    if event == "socket.connect" and isinstance(args[1], tuple):
        host = args[1][0]
    elif event == "socket.getaddrinfo":
        host = args[0]
    else:
        return
    if not _is_local(host):
        sys.stderr.write(f"OUTBOUND ATTEMPT: {event} {host!r}\n")
        sys.stderr.flush()
        os._exit(99)


def main() -> int:
    sys.addaudithook(_hook)
    if sys.argv[1] == "--self-test":  # proves the hook fires: this must exit 99
        import socket

        socket.getaddrinfo("example.org", 443)
        return 0
    work = Path(sys.argv[1])
    index = str(work / "index")
    from qa.cli import main as qa

    assert qa(["build", "--seeds", str(ROOT / "seeds"), "--index", index, "--quiet"]) == 0
    assert qa(["ask", "Who attended the Riyadh talks?", "--index", index, "--json"]) == 0
    assert qa(["eval", "--questions", str(ROOT / "eval" / "questions" / "seed.jsonl"), "--index", index, "--limit", "5", "--json"]) == 0

    from qa.service import Assistant
    from qa.settings import Settings
    from qa_ui.app import build_app
    from qa_ui.background import Server

    with Server(build_app(Assistant(Settings(index_dir=Path(index))))) as server:
        req = urllib.request.Request(server.url + "/api/ask", data=json.dumps({"question": "Who attended the Riyadh talks?"}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            reply = json.loads(r.read())
        assert "Lavrov" in reply["answer"], reply
        with urllib.request.urlopen(server.url + "/", timeout=60) as r:
            assert r.status == 200
        from gradio_client import Client

        chat = Client(server.url + "/", verbose=False).predict(message="Who attended the Riyadh talks?", api_name="/chat")
        assert "Lavrov" in str(chat)
    print("OFFLINE OK", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
