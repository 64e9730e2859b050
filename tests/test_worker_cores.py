"""A worker sizes its children's math threads and its lending table by the cores it may use, not by
the host's: a worker pinned to one core (taskset, a cpuset) or held to one core's time by a CPU quota
(``docker run --cpus 1``, compose's ``cpus``) gives a lone child one thread, where
``os.cpu_count()`` would have given it every core of the host.

Each story runs a real process under the real restriction: an affinity set before it starts, or a
cgroup with a CPU quota mounted where a container sees its own (as Docker mounts it). A machine on
cgroup v1 cannot make a v2 quota, so there the v2 story gives the process the file a v2 container sees."""

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

# In the restricted process: the worker's own handler sizes one child's threads.
PROBE = """
import os
from types import SimpleNamespace
os.environ.pop("OMP_NUM_THREADS", None)
import django
django.setup()
from hashtagapp import celery
celery._share_cores_between_children(sender=SimpleNamespace(concurrency=1))
print(os.cpu_count(), celery.worker_cores(), os.environ["OMP_NUM_THREADS"])
"""

needs_two_cores = pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: nothing to restrict")


def probe(command: list[str], **kwargs) -> tuple[int, int, str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, **kwargs)
    assert result.returncode == 0, result.stderr[-2000:]
    host, usable, threads = result.stdout.split()[-3:]
    return int(host), int(usable), threads


def test_an_unrestricted_worker_uses_every_core():
    host, usable, threads = probe([sys.executable, "-c", PROBE])
    assert usable == host
    assert threads == str(host)


@needs_two_cores
def test_a_worker_pinned_to_one_core_gives_its_child_one_thread():
    first = min(os.sched_getaffinity(0))
    host, usable, threads = probe(
        [sys.executable, "-c", PROBE], preexec_fn=lambda: os.sched_setaffinity(0, {first})
    )
    assert host >= 2  # The host's count is unchanged...
    assert (usable, threads) == (1, "1")  # ...but the worker sizes its child by its one core.


def _can_mount_own_view() -> bool:
    """Whether a process started here can be given its own mounts (root, unshare and mount)."""
    return os.geteuid() == 0 and bool(shutil.which("unshare")) and bool(shutil.which("mount"))


def _quota_cgroup() -> tuple[Path, Path, list[tuple[str, str]]] | None:
    """A place for a cgroup with a CPU quota of one core: (parent, where containers see their own,
    files to write); None where this machine does not let this process make one."""
    if not _can_mount_own_view():
        return None
    v1 = Path("/sys/fs/cgroup/cpu")
    if (v1 / "cpu.cfs_quota_us").exists():
        return v1, v1, [("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", "100000")]
    v2 = Path("/sys/fs/cgroup")
    controls = v2 / "cgroup.subtree_control"
    if controls.exists() and "cpu" in controls.read_text().split():
        return v2, v2, [("cpu.max", "100000 100000")]
    return None


@needs_two_cores
def test_a_worker_in_a_container_held_to_one_core_gives_its_child_one_thread():
    place = _quota_cgroup()
    if place is None:
        pytest.skip("no cgroup with a CPU quota can be made here (needs root and the cpu controller)")
    parent, seen_at, files = place
    group = parent / f"hashtagapp-test-{uuid.uuid4().hex[:8]}"
    try:
        group.mkdir()
    except OSError as exc:
        pytest.skip(f"cannot make a cgroup here: {exc}")
    try:
        for name, value in files:
            (group / name).write_text(value)
        # As a container runtime does: the process joins the cgroup and sees it mounted as its own.
        start = (
            f'mount --bind "{group}" "{seen_at}" && echo $$ > "{seen_at}/cgroup.procs" '
            f'&& exec "{sys.executable}" -c "$PROBE"'
        )
        host, usable, threads = probe(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", start],
            env={**os.environ, "PROBE": PROBE},
        )
    finally:
        group.rmdir()
    assert host >= 2  # The container still counts the host's cores...
    assert (usable, threads) == (1, "1")  # ...and the worker keeps to the one its quota allows.


@needs_two_cores
@pytest.mark.parametrize(("cpu_max", "cores"), [("100000 100000", 1), ("max 100000", None)])
def test_a_worker_in_a_cgroup_v2_container_reads_its_quota_from_cpu_max(cpu_max, cores):
    """Under cgroup v2 a container sees its own cgroup at /sys/fs/cgroup, its quota in ``cpu.max``
    as "$MAX $PERIOD" ("max" for none). Where this machine runs cgroup v1 the story above cannot
    make one, so the file is laid out as the kernel shows it, where a container sees it."""
    if not _can_mount_own_view():
        pytest.skip("needs root, unshare and mount to give the process its own /sys/fs/cgroup")
    start = (
        'mount -t tmpfs cgroup /sys/fs/cgroup && printf "%s\\n" "$CPU_MAX" > /sys/fs/cgroup/cpu.max '
        f'&& exec "{sys.executable}" -c "$PROBE"'
    )
    host, usable, threads = probe(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", start],
        env={**os.environ, "PROBE": PROBE, "CPU_MAX": cpu_max},
    )
    expected = cores or host
    assert (usable, threads) == (expected, str(expected))
