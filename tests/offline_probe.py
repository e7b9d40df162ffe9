"""Run by tests/test_offline.py, inside `unshare -n` (loopback only) where it can: every qa
command in its own process under `strace -f`, which records each connect()/sendto()/sendmsg()
of the process and all its threads and children, native code included (a Python audit
hook cannot see onnxruntime's C++ telemetry, a system call trace can). A real Chromium
session drives the served chat page meanwhile (the browser is the user's, not traced).

    python tests/offline_probe.py WORKDIR           # the product: exit 0 and "OFFLINE OK"
    python tests/offline_probe.py --control WORKDIR  # must be caught: exit 99

Anything but loopback is an outbound attempt: a TCP/UDP connect or datagram to a
non-loopback address (a DNS query is a UDP datagram to the resolver), or a connect to a
local name-service socket (nscd, systemd-resolved), which is how glibc asks for a name.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Who attended the Riyadh talks?"
_INET = re.compile(r'sa_family=AF_INET6?, sin6?_port=htons\((\d+)\).*?(?:inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)")')
_UNIX = re.compile(r'sa_family=AF_UNIX, sun_path="([^"]+)"')
_RESOLVER_SOCKETS = ("nscd", "resolve", "io.systemd")


def outbound(log: Path) -> list[str]:
    """Every non-loopback connect/sendto/sendmsg (or name-service socket) in an strace log."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if not re.search(r"\b(connect|sendto|sendmsg)\(", line):
            continue
        for m in _INET.finditer(line):
            address = m.group(2) or m.group(3)
            if not ipaddress.ip_address(address).is_loopback:
                found.append(line.strip())
        for m in _UNIX.finditer(line):
            if any(s in m.group(1) for s in _RESOLVER_SOCKETS):
                found.append(line.strip())
    return found


# onnxruntime's telemetry stays silent where it sees a CI service (these variables, read by its
# native code), so under CI both the control and the product run would prove nothing: every
# traced command gets a user's environment, without them and without ORT_DISABLE_TELEMETRY.
_CI_MARKERS = ("CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI", "TRAVIS", "JENKINS_URL", "CODEBUILD_BUILD_ID",
               "BUILDKITE", "TEAMCITY_VERSION", "APPVEYOR", "BITBUCKET_BUILD_NUMBER", "ORT_DISABLE_TELEMETRY")


def user_env() -> dict[str, str]:
    """The environment as on a user's laptop: no CI markers, telemetry not switched off for qa."""
    return {k: v for k, v in os.environ.items() if k not in _CI_MARKERS}


def traced(log: Path, *cmd: str, **kw) -> subprocess.Popen:
    # The product must switch telemetry off itself (qa/runtime.py): nothing in the environment helps it.
    kw.setdefault("env", user_env())
    return subprocess.Popen(["strace", "-f", "-qq", "--seccomp-bpf", "-e", "trace=connect,sendto,sendmsg", "-o", str(log), *cmd], **kw)


def qa(log: Path, *args: str) -> str:
    proc = traced(log, sys.executable, "-m", "qa.cli", *args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, f"qa {' '.join(args)} failed: {err[-2000:]}"
    return out


def chat_in_chromium(url: str) -> str:
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=args)
        page = browser.new_page()
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_selector("#question textarea", timeout=60_000)
        page.fill("#question textarea", QUESTION)
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelectorAll('[data-testid=\"bot\"]').length >= 1 && "
                               "document.querySelector('[data-testid=\"bot\"]').innerText.includes('Lavrov')", timeout=60_000)
        reply = page.locator('[data-testid="bot"]').first.inner_text()
        browser.close()
    return reply


def product(work: Path) -> list[str]:
    index = str(work / "index")
    logs = {name: work / f"{name}.strace" for name in ("build", "ask", "eval", "serve")}
    qa(logs["build"], "build", "--seeds", str(ROOT / "seeds"), "--index", index, "--quiet")
    assert "Lavrov" in json.loads(qa(logs["ask"], "ask", QUESTION, "--index", index, "--json"))["answer"]
    qa(logs["eval"], "eval", "--questions", str(ROOT / "eval" / "questions" / "seed.jsonl"), "--index", index, "--limit", "5", "--json")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = traced(logs["serve"], sys.executable, "-m", "qa.cli", "serve", "--index", index, "--port", str(port),
                    cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in server.stdout:
            if "qa chat on" in line:
                break
        else:
            raise AssertionError("qa serve stopped before serving")
        started = time.time()
        assert "Lavrov" in chat_in_chromium(f"http://127.0.0.1:{port}/")
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/ask", data=json.dumps({"question": QUESTION}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            assert "Lavrov" in json.loads(r.read())["answer"]
        # onnxruntime's telemetry, when on, goes out 5-10 s after the first inference: stay up past it.
        time.sleep(max(0.0, 15 - (time.time() - started)))
    finally:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
        for pid in (children.read_text().split() if children.exists() else []):
            os.kill(int(pid), 15)  # the traced `qa serve`, which stops cleanly on SIGTERM
        server.wait(60)
    return [f"{name}: {hit}" for name, log in logs.items() for hit in outbound(log)]


def control(work: Path) -> list[str]:
    """What the product did before ORT_DISABLE_TELEMETRY: a bare onnxruntime session, and a
    plain name lookup. The probe must catch both."""
    script = (
        "import os, time, numpy as np\n"
        "os.environ.pop('ORT_DISABLE_TELEMETRY', None)\n"
        "import onnxruntime as ort\n"
        f"s = ort.InferenceSession({str(ROOT / 'qa' / 'models' / 'reranker' / 'model.onnx')!r}, providers=['CPUExecutionProvider'])\n"
        "ids = np.array([[101, 2054, 102, 2003, 102]], dtype=np.int64)\n"
        "s.run(None, {'input_ids': ids, 'attention_mask': np.ones_like(ids), 'token_type_ids': np.zeros_like(ids)})\n"
        "time.sleep(15)\n"
    )
    ort_log, dns_log = work / "ort.strace", work / "dns.strace"
    traced(ort_log, sys.executable, "-c", script).wait(120)
    traced(dns_log, sys.executable, "-c", "import socket\ntry:\n    socket.getaddrinfo('example.org', 443)\nexcept OSError:\n    pass\n").wait(60)
    return [f"onnxruntime: {h}" for h in outbound(ort_log)] + [f"lookup: {h}" for h in outbound(dns_log)]


def main() -> int:
    if sys.argv[1] == "--control":
        work = Path(sys.argv[2])
        hits = control(work)
        for hit in hits:
            print(f"OUTBOUND ATTEMPT: {hit}", file=sys.stderr)
        caught_ort = any(h.startswith("onnxruntime:") for h in hits)
        caught_dns = any(h.startswith("lookup:") for h in hits)
        print(f"CAUGHT onnxruntime={caught_ort} lookup={caught_dns}", flush=True)
        return 99 if caught_ort and caught_dns else 1
    work = Path(sys.argv[1])
    hits = product(work)
    for hit in hits:
        print(f"OUTBOUND ATTEMPT: {hit}", file=sys.stderr)
    if hits:
        return 99
    print("OFFLINE OK", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
