"""Proof of offline operation: the whole product in a network namespace with loopback only,
failing at the first attempt to reach the network (see tests/offline_probe.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.model


def _can_unshare() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


def test_build_ask_eval_and_chat_run_with_no_network(tmp_path):
    if not _can_unshare():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must prove offline operation: needs root, unshare and ip (iproute2)")
        pytest.skip("needs root, `unshare -n` and `ip` to run in a network namespace")
    env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
    cmd = f"ip link set lo up && exec {sys.executable} {ROOT / 'tests' / 'offline_probe.py'} {tmp_path}"
    proc = subprocess.run(["unshare", "-n", "--", "bash", "-c", cmd], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert "OUTBOUND ATTEMPT" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "OFFLINE OK" in proc.stdout


def test_the_probe_catches_an_outbound_attempt():
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "offline_probe.py"), "--self-test"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 99 and "OUTBOUND ATTEMPT" in proc.stderr
