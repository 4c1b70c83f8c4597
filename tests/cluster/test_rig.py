"""The cluster rig of issue 14: each proof is a test, and prints its figures.

The soak runs MICROBLOG_CLUSTER_SOAK seconds here (60 by default; CI sets 30 to stay short);
`make cluster` runs it for 600. The last tests prove that a rig leaves nothing behind.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import need

ROOT = Path(__file__).resolve().parents[2]
SOAK_SECONDS = float(os.environ.get("MICROBLOG_CLUSTER_SOAK", "60"))
pytestmark = pytest.mark.cluster


def missing_part() -> str | None:
    """Say what this machine lacks for the rig, or None."""
    if os.geteuid() != 0:
        return "the cluster rig needs root (ip netns, veth pairs)"
    for tool in ("ip", "haproxy", "redis-server", "setpriv"):
        if shutil.which(tool) is None:
            return f"the cluster rig needs {tool}"
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return "the cluster rig needs PostgreSQL's server binaries (postgresql package)"
    return None


@pytest.fixture(scope="module")
def rig():
    reason = missing_part()
    need(reason is None, reason or "")
    from cluster.rig import Rig

    with Rig() as rig:
        yield rig


@pytest.fixture
def check(capsys):
    def check(proof):
        with capsys.disabled():
            print("\n" + proof.report())
        failed = [claim for claim, ok in proof.checks.items() if not ok]
        assert not failed, proof.report()

    return check


def test_1_one_session_any_host_sign_out_everywhere_shared_limits(rig, check):
    from cluster import proofs

    check(proofs.sessions(rig))


def test_1b_settings_sign_outs_take_effect_on_every_host_at_once(rig, check):
    from cluster import proofs_logout

    check(proofs_logout.settings_endings(rig))


def test_1c_a_back_channel_logout_at_one_host_takes_effect_on_every_host(rig, check):
    from cluster import proofs_logout

    check(proofs_logout.backchannel(rig))


def test_2_killing_an_app_host_loses_only_its_requests_in_flight(rig, check):
    from cluster import proofs

    check(proofs.kill_host(rig))


def test_3_restarting_postgresql_gives_503_pages_then_recovers(rig, check):
    from cluster import proofs

    check(proofs.restart_postgres(rig))


def test_4_stopping_redis_gives_no_5xx(rig, check):
    from cluster import proofs

    check(proofs.stop_redis(rig))


def test_5_a_host_cut_off_the_database_fails_fast_and_leaves_the_pool(rig, check):
    from cluster import proofs

    check(proofs.cut_database_link(rig))


def test_6_a_rolling_restart_fails_no_request(rig, check):
    from cluster import proofs

    check(proofs.rolling_restart(rig))


def test_7_soak(rig, check):
    from cluster import proofs

    check(proofs.soak(rig, SOAK_SECONDS))


# --- nothing left behind ----------------------------------------------------------------------

HOLD = """
import json, sys, time
from cluster.rig import Rig
rig = Rig(apps=1, workers=1)
if sys.argv[1] == "fail":
    def broken(self):
        print(json.dumps(state(self)), flush=True)
        raise RuntimeError("the provider would not start")
    Rig._start_idp = broken
def state(rig):
    j = rig.janitor
    return {"namespaces": j.namespaces, "tmp": str(j.tmp), "pids": [p.pid for p in j.processes]}
with rig:
    print(json.dumps(state(rig)), flush=True)
    time.sleep(120)  # bounded: the test interrupts it long before
"""


def running(pid):
    """True while pid is a live process (a zombie waiting for init to reap it is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def leftovers(state):
    from cluster.netns import list_namespaces

    # A SIGKILLed process can take a moment to leave; give it a bounded few seconds.
    deadline = time.monotonic() + 10
    while any(running(p) for p in state["pids"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [pid for pid in state["pids"] if running(pid)]
    namespaces = set(state["namespaces"]) & set(list_namespaces())
    return {
        "processes": alive,
        "namespaces": sorted(namespaces),
        "tmp": Path(state["tmp"]).exists(),
    }


def start_holder(mode):
    reason = missing_part()
    need(reason is None, reason or "")
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, mode], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    line = process.stdout.readline()
    assert line, "the rig did not start"
    return process, json.loads(line)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_rig_leaves_nothing_behind(sig):
    process, state = start_holder("hold")
    assert state["pids"] and len(state["namespaces"]) >= 6
    assert leftovers(state)["namespaces"]  # it really was there
    process.send_signal(sig)
    process.wait(60)
    process.stdout.close()
    assert leftovers(state) == {"processes": [], "namespaces": [], "tmp": False}


def test_a_rig_that_fails_to_start_leaves_nothing_behind():
    process, state = start_holder("fail")
    assert state["pids"]  # PostgreSQL and Redis were running when it failed
    assert process.wait(60) != 0
    process.stdout.close()
    assert leftovers(state) == {"processes": [], "namespaces": [], "tmp": False}


def test_a_killed_rigs_remains_are_swept_by_the_next():
    process, state = start_holder("hold")
    process.kill()  # SIGKILL: no handler runs
    process.wait(10)
    process.stdout.close()
    time.sleep(0.2)
    from cluster.netns import sweep_orphans

    sweep_orphans()
    assert leftovers(state) == {"processes": [], "namespaces": [], "tmp": False}
