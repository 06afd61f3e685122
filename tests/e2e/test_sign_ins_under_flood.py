"""Issue 22, finding 5: new users sign in while a sustained flood of unknown users goes on.

Against a real `bdbexport serve` with the real scrypt parameters: 600 keep-alive
connections from ten other loopback addresses re-send unknown users' credentials for
15 s (the benchmark's flood, `benchmarks/sign_in_flood.py`), and five users the server
has never verified sign in from 127.0.0.1 meanwhile, two seconds apart. Each gets its
200. The flood itself is only ever answered 401 or 429, and the server answers
normally afterwards.

What was wrong is the queue's order: a newcomer waited one turn of every flooding
address (about 4.5 s here, against a fraction of a second unflooded). So the same run
first measures unflooded first sign-ins as its baseline, on the same loaded machine,
and the flooded ones must stay within `MULTIPLE` times the baseline plus `SLACK`: a
ratio against the same run, not a figure that depends on a quiet machine (the
benchmark, `python -m benchmarks`, keeps the absolute target of 1 s). The exact order
is proven in tests/integration/http/test_kdf_queue.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from benchmarks.sign_in_flood import (
    SIGN_INS,
    bootstrap,
    first_sign_in,
    fresh_users,
    sign_ins_during,
)
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow

DEADLINE = 30.0
"""Generous: a first sign-in on a loaded two-core machine, never a timing claim."""
BASELINE_SIGN_INS = 3
MULTIPLE = 6.0
SLACK = 1.0
"""A flooded first sign-in may take `MULTIPLE` unflooded ones (the flood loads both
cores, and it may wait for the scrypt in progress) plus `SLACK` seconds; waiting a
turn of each of the ten flooding addresses, as before the fair queue, is more."""


def test_new_users_sign_in_while_600_connections_keep_sending_unknown_users(
    tmp_path: Path,
) -> None:
    everyone = fresh_users(SIGN_INS + BASELINE_SIGN_INS)
    users, quiet = everyone[:SIGN_INS], everyone[SIGN_INS:]
    args = ["--bootstrap", str(bootstrap(tmp_path, everyone)), "--exporter", "simulated"]
    with ServerProcess(
        f"sqlite://{tmp_path / 'store.sqlite3'}", args=args, workdir=tmp_path
    ).start() as server:
        baseline = []
        for user in quiet:
            status, seconds = first_sign_in(server.url, user, DEADLINE)
            assert status == 200
            baseline.append(seconds)
        took, answers = sign_ins_during(server.url, server.port, users, timeout=DEADLINE)
        print(
            f"\nfirst sign-ins unflooded: {[round(s, 3) for s in baseline]} s,"
            f" during the flood: {[round(s, 3) for s in took]} s; {answers}"
        )
        assert len(took) == SIGN_INS
        bound = MULTIPLE * max(baseline) + SLACK
        assert max(took) <= bound, (
            f"a flooded first sign-in took {max(took):.3f}s, over {bound:.3f}s"
            f" ({MULTIPLE} x the unflooded {max(baseline):.3f}s + {SLACK}s)"
        )
        assert set(answers) <= {0, 401, 429}, answers
        assert answers.get(401, 0) + answers.get(429, 0) > 1000, answers
        after = httpx.get(f"{server.url}/v1/bdbs/1", auth=users[0], timeout=DEADLINE)
        assert after.status_code == 200, after.text
        assert json.loads(after.text)["uid"] == 1
