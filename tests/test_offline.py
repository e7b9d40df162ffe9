"""Proof of offline operation, at the system level: every qa command (build, ask, eval, and
serve with a real Chromium session) runs under `strace -f` inside a network namespace with
loopback only, and any connect/sendto/sendmsg to anything but loopback fails the test
(tests/offline_probe.py). A control run proves the probe sees what it must: onnxruntime's
native telemetry (what qa did before it set ORT_DISABLE_TELEMETRY) and a plain name lookup."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.model, pytest.mark.browser]


def _tools() -> tuple[bool, str]:
    if not shutil.which("strace"):
        return False, "needs strace (Debian package strace; .ci/run installs it)"
    if not shutil.which("chromium") and not os.path.exists("/usr/bin/chromium"):
        return False, "needs Debian's chromium"
    return True, ""


def _namespace() -> list[str]:
    """`unshare -n` with loopback up, where this user may; else no namespace (still traced)."""
    if os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-n", "--", "bash", "-c", 'ip link set lo up && exec "$@"', "probe"]
    return []


def _run(*args: str) -> subprocess.CompletedProcess:
    ok, why = _tools()
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must prove offline operation: {why}")
        pytest.skip(why)
    if not _namespace() and os.environ.get("CI") == "true":
        pytest.fail("CI must prove offline operation in a network namespace: needs root, unshare (util-linux) and ip (iproute2)")
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    return subprocess.run([*_namespace(), sys.executable, str(ROOT / "tests" / "offline_probe.py"), *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)


def test_build_ask_eval_serve_and_a_browser_session_make_no_outbound_attempt(tmp_path):
    proc = _run(str(tmp_path))
    assert "OUTBOUND ATTEMPT" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 0 and "OFFLINE OK" in proc.stdout, proc.stderr[-3000:]


def test_the_probe_catches_native_telemetry_and_a_plain_lookup(tmp_path):
    proc = _run("--control", str(tmp_path))
    assert proc.returncode == 99 and "CAUGHT onnxruntime=True lookup=True" in proc.stdout, proc.stdout + proc.stderr[-2000:]
