"""The export destination adapters against the real file system and real sockets:
export roots, exclusive files, the partial-file sweep, the egress policy."""

from __future__ import annotations

import os
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bdbexport.adapters.exporting.egress import EgressPolicy
from bdbexport.adapters.exporting.export_roots import ExportRoots
from bdbexport.adapters.exporting.partials import STALE_AFTER, PartialSweeper
from bdbexport.adapters.exporting.sinks import DirectorySink, file_name, partial_name
from bdbexport.adapters.memory.action_log import InMemoryActionLog
from bdbexport.domain.action_records import ActionRecord, ActionStatus
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import EgressNotAllowedError, ExportPathNotAllowedError
from bdbexport.domain.events import LEASE_EXPIRY_ACTOR, ActionFailed
from bdbexport.domain.export_outcome import ExportFailedError
from bdbexport.domain.locations import MountPointLocation
from bdbexport.domain.statuses import ExportFailureReason, ExportStatus
from tests.support.thoroughness import examples

AT = datetime(2026, 11, 29, 1, 2, 3, tzinfo=UTC)


def test_a_path_resolves_inside_a_root_or_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    (root / "link").symlink_to(tmp_path / "out")
    roots = ExportRoots([root])
    assert roots.resolve(str(root)) == root
    assert roots.resolve("sub") == root / "sub"
    assert roots.resolve(str(root / "sub" / ".." / "sub")) == root / "sub"
    assert roots.resolve(str(root / "not-yet")) == root / "not-yet"
    for outside in ("..", "../out", str(root / "link"), "/", "/etc/passwd", "a\x00b"):
        with pytest.raises(ExportPathNotAllowedError) as refused:
            roots.resolve(outside)
        assert refused.value.description == ExportPathNotAllowedError().description


@settings(max_examples=examples(2), deadline=None)
@given(st.lists(st.sampled_from(["..", ".", "a", "b", "/", "//", "link"]), max_size=8))
def test_whatever_the_path_a_resolved_one_is_inside_a_root(parts: list[str]) -> None:
    # One folder per process: parallel workers and runs must not race on the symlink.
    base = Path(os.environ.get("TMPDIR", "/tmp")) / f"bdbexport-roots-property-{os.getpid()}"
    root = base / "root"
    (root / "a").mkdir(parents=True, exist_ok=True)
    if not (root / "link").is_symlink():
        (root / "link").symlink_to(base)
    roots = ExportRoots([root])
    try:
        resolved = roots.resolve("".join(parts) or ".")
    except ExportPathNotAllowedError:
        return
    assert resolved == root or root in resolved.parents
    assert Path(os.path.realpath(resolved)) == resolved


def test_an_existing_file_is_never_replaced(tmp_path: Path) -> None:
    roots = ExportRoots([tmp_path])
    name = file_name("orders", AT, 1, "action-1")
    (tmp_path / name).write_bytes(b"precious")
    sink = DirectorySink(MountPointLocation(path=str(tmp_path)), name, roots)
    sink.write(b"new data")
    with pytest.raises(ExportFailedError) as failed:
        sink.commit()
    assert failed.value.reason is ExportFailureReason.GENERAL_ERROR
    assert "already exists" in failed.value.detail
    assert (tmp_path / name).read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_stale_partial_of_the_same_name_is_not_written_through(tmp_path: Path) -> None:
    """`O_EXCL|O_NOFOLLOW`: a symlink planted under the temporary name is not followed."""
    roots = ExportRoots([tmp_path / "root"])
    (tmp_path / "root").mkdir()
    name = file_name("orders", AT, 1, "action-1")
    (tmp_path / "root" / partial_name(name)).symlink_to(tmp_path / "victim")
    with pytest.raises(ExportFailedError):
        DirectorySink(MountPointLocation(path=str(tmp_path / "root")), name, roots)
    assert not (tmp_path / "victim").exists()


def test_names_carry_the_bdb_and_action_and_never_collide() -> None:
    names = {file_name(bdb, AT, uid, "a") for uid, bdb in ((1, "orders"), (2, "orders!"))}
    assert names == {"orders-20261129T010203Z-db1-a.rdb", "orders-20261129T010203Z-db2-a.rdb"}
    assert file_name("orders", AT, 1, "a") != file_name("orders", AT, 1, "b")


def test_the_sweep_removes_only_partials_of_actions_that_no_longer_run(tmp_path: Path) -> None:
    """Changed deliberately with the sweep across stores (docs/exports.md): a partial of
    an action our store does not know is another store's while fresh; it went at once."""
    now = AT
    bdbs = {
        1: Bdb(
            uid=1,
            name="running",
            export_status=ExportStatus.EXPORTING,
            action_uid="live",
            action_lease_expires=now + timedelta(seconds=30),
        ),
        2: Bdb(
            uid=2,
            name="lapsed",
            export_status=ExportStatus.EXPORTING,
            action_uid="dead",
            action_lease_expires=now - timedelta(seconds=1),
        ),
        3: Bdb(
            uid=3,
            name="other",
            export_status=ExportStatus.EXPORTING,
            action_uid="newer",
            action_lease_expires=now + timedelta(seconds=30),
        ),
    }
    (tmp_path / "deep" / "er").mkdir(parents=True)
    keep = tmp_path / partial_name(file_name("running", AT, 1, "live"))
    gone = [
        tmp_path / partial_name(file_name("lapsed", AT, 2, "dead")),
        tmp_path / "deep" / "er" / partial_name(file_name("other", AT, 3, "older")),
        tmp_path / partial_name(file_name("nobody", AT, 9, "x")),
    ]
    foreign = tmp_path / partial_name(file_name("theirs", AT, 1, "elsewhere"))
    unrelated = tmp_path / ".something.partial"
    for path in (keep, *gone, unrelated, foreign):
        path.write_bytes(b"")
    stale = (now - STALE_AFTER - timedelta(seconds=1)).timestamp()
    os.utime(gone[2], (stale, stale))  # unknown to our store, and stale: removed
    fresh = (now - STALE_AFTER + timedelta(seconds=5)).timestamp()
    os.utime(foreign, (fresh, fresh))  # unknown to our store, still fresh: kept
    actions = InMemoryActionLog()
    actions.put(
        ActionRecord(
            action_uid="older", name="export", bdb_uid=3, status=ActionStatus.FAILED,
            start_time=now - timedelta(hours=1), end_time=now - timedelta(minutes=30),
        )
    )  # fmt: skip
    sweeper = PartialSweeper(ExportRoots([tmp_path]), bdbs.get, actions=actions, now=lambda: now)
    assert sorted(sweeper.sweep()) == sorted(str(path) for path in gone)
    assert keep.exists()
    assert foreign.exists()
    assert unrelated.exists()
    assert not any(path.exists() for path in gone)


def test_a_running_exports_partial_is_kept_fresh_and_a_stale_one_of_nobody_goes(
    tmp_path: Path,
) -> None:
    """`keep_alive` (the runner calls it while the export runs) touches the file, so a
    server on another store, which cannot ask about the action, sees it fresh."""
    target = tmp_path / "backups"
    target.mkdir()
    partial = target / partial_name(file_name("db", AT, 1, "act-1"))
    other = target / partial_name(file_name("db", AT, 2, "act-2"))
    old = (datetime.now(UTC) - STALE_AFTER - timedelta(minutes=1)).timestamp()
    for path in (partial, other):
        path.write_bytes(b"")
        os.utime(path, (old, old))
    nothing: dict[int, Bdb] = {}
    ours = PartialSweeper(ExportRoots([tmp_path]), nothing.get)
    ours.keep_alive([(1, "act-1", MountPointLocation(path=str(target)))])
    ours.keep_alive([(1, "act-1", MountPointLocation(path=str(target)))])  # remembered
    theirs = PartialSweeper(ExportRoots([tmp_path]), nothing.get)  # another, empty store
    assert theirs.sweep() == [str(other)]
    assert partial.exists()


def test_a_lease_expiry_sweep_looks_again_when_the_next_lease_runs_out(tmp_path: Path) -> None:
    """Two exports killed together: the first expiry's sweep still sees the second
    lease alive a moment; it looks again once that lease has run out."""
    soon = datetime.now(UTC) + timedelta(milliseconds=400)
    bdbs = {
        2: Bdb(
            uid=2,
            name="later",
            export_status=ExportStatus.EXPORTING,
            action_uid="second",
            action_lease_expires=soon,
        )
    }
    partial = tmp_path / partial_name(file_name("later", AT, 2, "second"))
    partial.write_bytes(b"")
    sweeper = PartialSweeper(ExportRoots([tmp_path]), bdbs.get)
    expired = ActionFailed(
        actor=LEASE_EXPIRY_ACTOR, uid=1, at=datetime.now(UTC), reason="general-error"
    )
    sweeper.on_failed(expired)
    deadline = time.monotonic() + 10
    while partial.exists():
        assert time.monotonic() < deadline, "the second lease's file was kept"
        time.sleep(0.02)
    assert datetime.now(UTC) >= soon


def test_when_the_store_cannot_say_nothing_is_removed(tmp_path: Path) -> None:
    def broken(uid: int) -> Bdb | None:
        raise ConnectionError("store down")

    path = tmp_path / partial_name(file_name("db", AT, 1, "a"))
    path.write_bytes(b"")
    assert PartialSweeper(ExportRoots([tmp_path]), broken).sweep() == []
    assert path.exists()


def test_the_egress_policy_refuses_loopback_link_local_and_the_store_host() -> None:
    policy = EgressPolicy.build(store_hosts=["192.0.2.10"])
    for host in (
        "127.0.0.1",
        "127.1.2.3",
        "localhost",
        "169.254.169.254",
        "0.0.0.0",
        "::1",
        "::ffff:127.0.0.1",
        "fe80::1",
        "192.0.2.10",
        "224.0.0.1",
    ):
        with pytest.raises(EgressNotAllowedError):
            policy.check_host(host)
    for host in ("192.0.2.11", "10.1.2.3", "ftp.example.com"):
        policy.check_host(host)  # permitted, or judged when connecting (a name)


def test_allowed_entries_override_the_default_refusals() -> None:
    policy = EgressPolicy.build(["127.0.0.1", "169.254.0.0/16", "Backup.Internal."])
    policy.check_host("127.0.0.1")
    policy.check_host("169.254.1.1")
    with pytest.raises(EgressNotAllowedError):
        policy.check_host("127.0.0.2")
    assert policy.allowed_names == frozenset({"backup.internal"})
    for bad in ("", "10.0.0.0/33", "a..b"):
        with pytest.raises(ValueError, match="allow-egress"):
            EgressPolicy.build([bad])


def test_a_refused_name_is_never_connected_to() -> None:
    with socket.create_server(("127.0.0.1", 0)) as bait:
        port = bait.getsockname()[1]
        with pytest.raises(EgressNotAllowedError):
            EgressPolicy().connect("localhost", port, timeout=2)
        bait.setblocking(False)
        with pytest.raises(BlockingIOError):
            bait.accept()
        allowed = EgressPolicy.build(["127.0.0.1"])
        with allowed.connect("localhost", port, timeout=2) as connection:
            assert connection.getpeername()[1] == port
