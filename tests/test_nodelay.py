"""Connections of ``serve`` (one worker or several) send answers at once: TCP_NODELAY is set on
each, even when the listening socket is the one uvicorn shares between workers, which does not
say it is TCP and so gets no such option from asyncio."""

from __future__ import annotations

import asyncio
import socket

import pytest
import uvicorn
from uvicorn.server import ServerState

from connector.api.nodelay import NoDelayHttpProtocol

PLAIN = NoDelayHttpProtocol.__bases__[0]  # the implementation uvicorn would use without it


async def _app(scope: object, receive: object, send: object) -> None:  # never called
    raise AssertionError("no request is sent")


async def _nodelay_of_accepted(protocol_class: type[asyncio.Protocol]) -> int:
    config = uvicorn.Config(_app, port=0)
    listening = config.bind_socket()  # as uvicorn binds it for --workers
    assert listening.proto == 0  # the socket that asyncio leaves without TCP_NODELAY
    made: list[asyncio.Protocol] = []

    def protocol() -> asyncio.Protocol:
        made.append(protocol_class(config=config, server_state=ServerState(), app_state={}))  # type: ignore[call-arg]
        return made[-1]

    loop = asyncio.get_running_loop()
    server = await loop.create_server(protocol, sock=listening)
    try:
        _reader, writer = await asyncio.open_connection(*listening.getsockname()[:2])
        for _ in range(100):
            if made and getattr(made[0], "transport", None) is not None:
                break
            await asyncio.sleep(0.01)
        accepted = made[0].transport.get_extra_info("socket")  # type: ignore[attr-defined]
        option = int(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()
        return option
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(("protocol", "nodelay"), [(PLAIN, False), (NoDelayHttpProtocol, True)])
def test_accepted_connections_get_tcp_nodelay(
    protocol: type[asyncio.Protocol], nodelay: bool
) -> None:
    assert bool(asyncio.run(_nodelay_of_accepted(protocol))) is nodelay
