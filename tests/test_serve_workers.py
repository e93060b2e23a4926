"""Several server processes on one PostgreSQL database: burns over HTTP stay exact.

``creditsync serve --workers 2`` runs two processes on one port; each has its own group-commit
writer, and the database (account locks, idempotency keys) keeps them exact. The test burns from
many clients at once, asks for more credits than exist, repeats keys, and checks the ledger.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import func, select

from connector.store.tables import burns
from tests.test_api_support import T0, TOKENS, auth, make_runtime, seed

ACCOUNTS = ["w-1", "w-2", "w-3"]
CREDITS = 50  # per account; four clients on each ask for 60 distinct burns of one credit


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_two_workers_on_one_postgresql_burn_exactly(pg_url: str, tmp_path: Path) -> None:
    runtime = make_runtime(pg_url, tmp_path)
    for account in ACCOUNTS:
        seed(runtime, account, CREDITS)
    port = _free_port()
    tokens = [{"name": s, "token": t, "scopes": [s]} for s, t in TOKENS.items()]
    env = {
        **os.environ,
        "CREDITSYNC_DATABASE_URL": pg_url,
        "CREDITSYNC_API_TOKENS": json.dumps(tokens),
        "CREDITSYNC_SCHEDULE__ENABLED": "false",
        "CREDITSYNC_OUTPUT_DIR": str(tmp_path / "out"),
    }
    command = [str(Path(sys.executable).with_name("creditsync")), "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--workers", "2", "--log-level", "warning"], env=env, cwd=tmp_path
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, "the server exited while starting"
            assert time.monotonic() < deadline, "the workers did not start within 90 s"
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)

        def client(n: int) -> Counter[str]:
            seen: Counter[str] = Counter()
            with httpx.Client(base_url=base, headers=auth("burn"), timeout=30) as http:
                for i in range(30):
                    key = f"c{n}-{i // 2}"  # every key is sent twice
                    answer = http.post(
                        "/v1/burns",
                        json={
                            "account_id": ACCOUNTS[n % len(ACCOUNTS)],
                            "action": "query",
                            "units": 1,
                            "occurred_at": T0.isoformat(),
                        },
                        headers={"Idempotency-Key": key},
                    )
                    if answer.status_code == 200:
                        seen["replayed" if answer.json()["replayed"] else "burned"] += 1
                    else:
                        assert answer.status_code == 402, answer.text
                        seen["refused"] += 1
            return seen

        with ThreadPoolExecutor(12) as pool:
            totals = sum(pool.map(client, range(12)), Counter[str]())
    finally:
        server.terminate()
        server.wait(timeout=60)

    burned = CREDITS * len(ACCOUNTS)  # every credit, none twice
    assert totals == Counter(burned=burned, replayed=burned, refused=360 - 2 * burned)
    assert runtime.ledger.verify() == []
    with runtime.engine.connect() as conn:
        assert conn.execute(select(func.sum(burns.c.credits))).scalar_one() == burned
    assert all(runtime.ledger.balance(a, T0).total == 0 for a in ACCOUNTS)
    runtime.engine.dispose()
