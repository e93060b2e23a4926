"""Webhook acknowledgement latency and HTTP burn throughput against a real uvicorn on loopback.

    python -m bench.webhooks [--webhooks N] [--rate R] [--burns N] [--database-url URL]

The server runs in a child process (so the load generator does not share its interpreter lock)
on 127.0.0.1 with a fresh database. Webhooks: N signed Stripe ``invoice.paid`` deliveries sent
open-loop at R per second (each at its scheduled instant, whether or not earlier ones were
answered, so a slow server cannot slow the sender down and hide its own latency); latency runs
from the scheduled instant to the answer. Goal: p99 < 50 ms at 200/s. Burns: N burns through
POST /v1/burns one after another and with 16 in flight, beside the same number of in-process
``Ledger.burn`` calls on the same database; the ratio is the cost of HTTP.

Bounded: it sends exactly the counts given and stops the server itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.databases import fresh_engine
from tests.stripe.stripe_payloads import dumps, event, invoice, invoice_line, sign

Json = dict[str, Any]

HOST = "127.0.0.1"  # loopback only
SECRET = "whsec_bench_0123456789abcdef"
TOKEN = "bench-token-0123456789"
PRICE = "price_1QpX7rLkd8Hs2mFa0bN7Tq4e"  # mappings/examples/stripe.toml: 10,000 + 2,000 bonus
ACCOUNTS = 20
T0 = datetime(2026, 1, 1, tzinfo=UTC)


# -- signed Stripe deliveries (API version 2026-10-28.endive) -------------------------------


def stripe_invoice(
    invoice_id: str,
    customer: str,
    *,
    price: str = PRICE,
    amount: int = 10_000,
    quantity: int = 1,
    currency: str = "usd",
    paid_at: int,
) -> Json:
    """A paid one-line invoice as Stripe sends it in ``invoice.paid``."""
    line = invoice_line(
        f"il_{invoice_id.removeprefix('in_')}",
        invoice_id=invoice_id,
        price=price,
        amount=amount,
        quantity=quantity,
        currency=currency,
        period_start=paid_at,
        period_end=paid_at,
        description="10,000 AI credits + 2,000 bonus",
    )
    return invoice(
        invoice_id,
        lines=[line],
        customer=customer,
        currency=currency,
        created=paid_at - 120,
        paid_at=paid_at,
    )


def stripe_event(event_id: str, event_type: str, obj: Json, created: int) -> Json:
    return event(event_id, event_type, obj, created=created)


def signed_delivery(payload: Json, secret: str, timestamp: int) -> tuple[bytes, dict[str, str]]:
    """A delivery as Stripe makes it: the raw body and its Stripe-Signature header."""
    body = dumps(payload)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": sign(body, secret, timestamp),
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    }
    return body, headers


# -- the server under test -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CREDITSYNC_DATABASE_URL": database_url,
            "CREDITSYNC_CONNECTIONS": json.dumps(
                {"stripe": {"platform": "stripe", "settings": {"webhook_secrets": [SECRET]}}}
            ),
            "CREDITSYNC_API_TOKENS": json.dumps(
                [{"token": TOKEN, "scopes": ["burn", "read"], "name": "bench"}]
            ),
            "CREDITSYNC_SCHEDULE__ENABLED": "false",
            "CREDITSYNC_CONFIG": str(Path(tempfile.gettempdir()) / "creditsync-bench-none.toml"),
        }
    )
    return env


def serve_child(port: int) -> None:
    """The child process: the real server, built the way ``creditsync serve`` builds it."""
    from connector.cli.server_cmd import build_server, run_server
    from connector.settings import Settings

    server = build_server(
        Settings(), HOST, port, scheduler=False, log_level="warning", access_log=False
    )
    run_server(server)


def start_server(database_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.webhooks", "--serve-child", str(port)],
        env=server_env(database_url),
    )
    base = f"http://{HOST}:{port}"
    wait_ready(child, base, seconds=30)
    return child, base


def wait_ready(child: subprocess.Popen[bytes], base: str, seconds: float) -> None:
    """Until the server at ``base`` answers /readyz; SystemExit if it exits or takes longer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"the server exited with status {child.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    child.terminate()
    raise SystemExit(f"the server did not become ready within {seconds:.0f} s")


def stop_server(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(timeout=15)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


# -- measurements ------------------------------------------------------------------------------


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100)[q - 1] * 1000


def deliveries(n: int, tag: str) -> list[tuple[bytes, dict[str, str]]]:
    now = int(time.time())
    out = []
    for i in range(n):
        invoice = stripe_invoice(f"in_{tag}{i:06d}", f"cus_{tag}{i % 50:03d}", paid_at=now - 60)
        event = stripe_event(f"evt_{tag}{i:06d}", "invoice.paid", invoice, now - 60)
        out.append(signed_delivery(event, SECRET, now))
    return out


class LoopbackClient:
    """A minimal HTTP/1.1 client over kept-alive loopback connections, for the sender.

    httpx costs about 3.5 ms of CPU per request; on a 2-core machine a sender at 200/s then
    needs most of a core, falls behind, and measures itself (seen: 42/s against a server that
    answers at once). Requests here are bytes made before the clock starts, and an answer is a
    status line and a Content-Length body: tens of microseconds each."""

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._open: list[asyncio.StreamWriter] = []

    def request(self, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        lines = [f"POST {path} HTTP/1.1", f"Host: {self._host}:{self._port}"]
        lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-length"]
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(self._host, self._port)
        self._open.append(writer)
        return reader, writer

    async def warm(self, n: int) -> None:
        self._idle.extend(await asyncio.gather(*(self._connect() for _ in range(n))))

    async def send(self, raw: bytes) -> int:
        """Send a request made by :meth:`request`; the answer's status. A kept-alive connection
        the server closed while it was idle (uvicorn does after 5 s) is replaced, as any HTTP
        client does; a failure on a fresh connection is the server's."""
        while self._idle:
            reader, writer = self._idle.pop()
            try:
                return await self._exchange(reader, writer, raw)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                    raise
                writer.close()
        return await self._exchange(*await self._connect(), raw)

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
    ) -> int:
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
        length = {k.strip().lower(): v.strip() for k, v in fields.items()}.get("content-length")
        if length is None:
            raise RuntimeError(f"answer {status} without Content-Length")
        await reader.readexactly(int(length))
        self._idle.append((reader, writer))
        return status

    async def close(self) -> None:
        for writer in self._open:
            writer.close()
        self._open.clear()
        self._idle.clear()


async def send_paced(
    base: str,
    items: list[tuple[bytes, dict[str, str]]],
    rate: float,
    path: str = "/webhooks/stripe",
) -> tuple[list[float], Counter[int], float]:
    """POST each (body, headers) to ``path`` at ``rate`` per second whatever the answers do;
    each latency counted from the moment its request was due."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    failures: Counter[str] = Counter()
    host, port = base.removeprefix("http://").rsplit(":", 1)
    client = LoopbackClient(host, int(port))
    raw = [client.request(path, body, headers) for body, headers in items]
    # warm the connections so the first deliveries do not pay for TCP handshakes
    await client.warm(16)
    loop = asyncio.get_running_loop()
    # the first request is due once every task is made and asleep: making thousands of them
    # takes the loop a while, and that delay is the client's, not the server's
    start = loop.time() + 0.05 + len(raw) / 50_000

    async def one(i: int, request: bytes) -> None:
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        try:
            statuses[await asyncio.wait_for(client.send(request), timeout=30)] += 1
        except (OSError, RuntimeError, ValueError, asyncio.IncompleteReadError) as exc:
            statuses[0] += 1
            failures[type(exc).__name__] += 1
            return
        latencies.append(loop.time() - due)

    try:
        await asyncio.gather(*(one(i, request) for i, request in enumerate(raw)))
    finally:
        elapsed = loop.time() - start
        await client.close()
    if failures:
        print(f"  deliveries without an answer: {dict(failures)}")
    return latencies, statuses, elapsed


def wait_drained(engine: Any, timeout: float) -> tuple[int, float]:
    from sqlalchemy import func, select

    from connector.sync.tables import webhook_inbox

    start = time.monotonic()
    pending = -1
    while time.monotonic() - start < timeout:
        with engine.connect() as conn:
            pending = conn.execute(
                select(func.count()).where(webhook_inbox.c.status == "pending")
            ).scalar_one()
        if pending == 0:
            break
        time.sleep(0.2)
    return pending, time.monotonic() - start


def seed_burns(engine: Any, credits: int) -> None:
    """The burn accounts, each with ``credits`` to burn after a history of burns already
    written (``bench.burns.write_history``: tables the size production's are)."""
    from bench.burns import HISTORY, write_history
    from connector.events import SourceKey
    from connector.ledger.models import GrantRequest, PoolKind
    from connector.ledger.service import Ledger

    ledger = Ledger(engine)
    ledger.set_rate("query", "1", T0 - timedelta(days=1))
    for prefix in ("http", "local"):
        for a in range(ACCOUNTS):
            ledger.grant(
                GrantRequest(
                    account_id=f"{prefix}{a}",
                    kind=PoolKind.PAID,
                    credits=credits + HISTORY,
                    revenue_amount=credits + HISTORY,
                    currency="USD",
                    effective_at=T0,
                    source=SourceKey(platform="bench", object_id=f"{prefix}{a}", line_id="1"),
                )
            )
    accounts = [f"{prefix}{a}" for prefix in ("http", "local") for a in range(ACCOUNTS)]
    write_history(engine, accounts, HISTORY)


def burn_body(prefix: str, i: int) -> Json:
    return {
        "account_id": f"{prefix}{i % ACCOUNTS}",
        "action": "query",
        "units": 1,
        "occurred_at": (T0 + timedelta(seconds=i)).isoformat(),
        "idempotency_key": f"{prefix}-{i}",
    }


def http_burns_sequential(base: str, n: int) -> float:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        start = time.perf_counter()
        for i in range(n):
            answer = client.post("/v1/burns", json=burn_body("http", i))
            if answer.status_code != 200:
                raise SystemExit(f"burn {i} answered {answer.status_code}: {answer.text}")
        return n / (time.perf_counter() - start)


async def http_burns_concurrent(base: str, n: int, in_flight: int) -> float:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    gate = asyncio.Semaphore(in_flight)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:

        async def one(i: int) -> None:
            async with gate:
                answer = await client.post("/v1/burns", json=burn_body("http", n + i))
                if answer.status_code != 200:
                    raise SystemExit(f"burn answered {answer.status_code}: {answer.text}")

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - start)


def local_burns(engine: Any, n: int) -> float:
    from connector.ledger.models import BurnRequest
    from connector.ledger.service import Ledger

    ledger = Ledger(engine)
    start = time.perf_counter()
    for i in range(n):
        body = burn_body("local", i)
        ledger.burn(
            BurnRequest(
                account_id=body["account_id"],
                idempotency_key=body["idempotency_key"],
                action="query",
                units=1,
                occurred_at=T0 + timedelta(seconds=i),
            )
        )
    return n / (time.perf_counter() - start)


def busy_child(database_url: str) -> None:
    """Background work on the same database while webhooks arrive: sync pages, then recognition,
    over and over until the parent stops it (what a scheduled sync run does to the server)."""
    from bench.sync_stripe import BENCH_MAPPING, stripe_purchases
    from connector.recognition.run import recognize
    from connector.runtime import Runtime
    from connector.settings import EXAMPLE_MAPPINGS, Settings
    from connector.sync.apply import apply_events
    from mappings.loader import load_mappings

    folder = Path(tempfile.mkdtemp())
    (folder / "bench.toml").write_text(BENCH_MAPPING)
    settings = Settings(
        database_url=database_url, mapping_paths=[EXAMPLE_MAPPINGS, folder / "bench.toml"]
    )
    runtime = Runtime.from_settings(settings, migrate=False)
    mappings = load_mappings(settings.mapping_paths)
    rounds = 0
    while True:
        purchases = list(stripe_purchases(2_000))
        purchases = [
            p.model_copy(
                update={
                    "source": p.source.model_copy(
                        update={"object_id": f"{p.source.object_id}-{rounds}"}
                    )
                }
            )
            for p in purchases
        ]
        for i in range(0, len(purchases), 100):
            with runtime.engine.begin() as conn:
                apply_events(conn, "stripe-busy", purchases[i : i + 100], mappings)
        recognize(runtime.engine, datetime.now(UTC), runtime.gl_accounts)
        rounds += 1


def start_busy(database_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.webhooks", "--busy-child", database_url],
        env=server_env(database_url),
    )


def bench(
    database_url: str | None, webhooks: int, rate: float, burns: int, busy: bool = False
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = fresh_engine(database_url, Path(folder), "webhooks")
        url = engine.url.render_as_string(hide_password=False)
        seed_burns(engine, credits=10 * burns + 100)
        child, base = start_server(url)
        background = start_busy(url) if busy else None
        load_before = os.getloadavg()[0]
        try:
            items = deliveries(webhooks, f"b{int(time.time())}")
            lat, statuses, elapsed = asyncio.run(send_paced(base, items, rate))
            load_after = os.getloadavg()[0]
            if background is not None:
                stop_server(background)
            pending, drain_time = wait_drained(engine, timeout=120)
            seq = http_burns_sequential(base, burns)
            conc = asyncio.run(http_burns_concurrent(base, burns, 16))
        finally:
            stop_server(child)
        local = local_burns(engine, burns)
        engine.dispose()
    kind = "SQLite" if database_url is None else "PostgreSQL"
    p99 = pct(lat, 99)
    during = ", while a sync and recognition run on the same database" if busy else ""
    print(f"\n{kind}, uvicorn on {HOST} (one worker process){during}")
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load_before:.1f} before the webhooks, "
        f"{load_after:.1f} after (other work on the machine skews latency)"
    )
    print(f"webhooks: {webhooks} signed invoice.paid at {rate:.0f}/s")
    print(f"  statuses          {dict(sorted(statuses.items()))}")
    print(f"  throughput        {len(lat) / elapsed:8.1f} acks/s over {elapsed:.1f} s")
    print(f"  ack latency p50   {pct(lat, 50):8.2f} ms")
    print(f"  ack latency p90   {pct(lat, 90):8.2f} ms")
    print(f"  ack latency p99   {p99:8.2f} ms   (goal < 50 ms: {'met' if p99 < 50 else 'MISSED'})")
    print(f"  ack latency max   {max(lat) * 1000:8.2f} ms")
    left = f", {pending} still pending" if pending else ""
    print(f"  inbox drained     {drain_time:8.2f} s after the last ack{left}")
    print(f"burns: {burns} each way")
    print(f"{'':30}{'burns/s':>10}{'vs in-process':>15}")
    print(f"{'in-process Ledger.burn':30}{local:>10.0f}{1:>15.0%}")
    print(f"{'HTTP, one at a time':30}{seq:>10.0f}{seq / local:>15.0%}")
    print(f"{'HTTP, 16 in flight':30}{conc:>10.0f}{conc / local:>15.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--webhooks", type=int, default=2000, help="deliveries to send")
    parser.add_argument("--rate", type=float, default=200.0, help="deliveries per second")
    parser.add_argument("--burns", type=int, default=1000, help="burns per measurement")
    parser.add_argument(
        "--database-url",
        action="append",
        default=None,
        help="a PostgreSQL server to bench beside SQLite (a database of its own is made there)",
    )
    parser.add_argument(
        "--busy", action="store_true", help="also while sync pages and recognition run"
    )
    parser.add_argument("--serve-child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--busy-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_child is not None:
        serve_child(args.serve_child)
        return
    if args.busy_child is not None:
        busy_child(args.busy_child)
        return
    if not 1 <= args.webhooks <= 100_000 or not 1 <= args.burns <= 100_000:
        parser.error("--webhooks and --burns must be between 1 and 100000")
    if not 1 <= args.rate <= 2000:
        parser.error("--rate must be between 1 and 2000 per second")
    for url in [None, *(args.database_url or [])]:
        bench(url, args.webhooks, args.rate, args.burns)
        if args.busy:
            bench(url, args.webhooks, args.rate, args.burns, busy=True)


if __name__ == "__main__":
    main()
