"""A radio hub for separate processes: one bumble ``LocalLink`` shared by every client.

Run ``python -m tests.peripherals.air --port 0`` and read ``listening PORT`` from its first
line of output. Every TCP connection to 127.0.0.1:PORT gets a fresh virtual controller on the
link, talking HCI (H4) over the socket: the imuhip central attaches with ``--ble
bumble:tcp-client:127.0.0.1:PORT``, each sensor process with the same spec.

When a client's socket closes (its process ended or was killed), its controller leaves the
link at once (it stops advertising) and its connections are dropped: the peer controllers
report a disconnection with reason "connection timeout" after ``--supervision-s``, as a real
central notices a vanished peripheral only when the supervision timeout expires. No LL
terminate is sent.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from bumble import hci
from bumble.controller import Controller
from bumble.link import LocalLink
from bumble.transport.common import StreamPacketSource

from imuhip.sources.ble.bumble_backend import CancellingController

LOOPBACK = "127.0.0.1"


#: bumble's controller with an LE Create Connection Cancel that really cancels (upstream only
#: acknowledges it): the same fix imuhip's in-process radio uses.
HubController = CancellingController


class Hub:
    """The shared link and its clients."""

    def __init__(self, supervision_s: float) -> None:
        self.link = LocalLink()
        self.supervision_s = supervision_s
        self.count = 0

    def gone(self, controller: Controller) -> None:
        """A client vanished: off the link now, its peers told after the supervision time."""
        controller.le_legacy_advertiser.stop()
        for adv in list(getattr(controller, "advertising_sets", {}).values()):
            adv.stop()
        peers = []
        for conn in list(controller.le_connections.values()):
            peer = self.link.find_le_controller(conn.peer_address)
            if peer is not None:
                peers.append((peer, conn.self_address))
        controller.le_connections.clear()
        if controller in self.link.controllers:
            self.link.remove_controller(controller)
        loop = asyncio.get_running_loop()
        for peer, own in peers:
            loop.call_later(self.supervision_s, self._drop, peer, own)

    @staticmethod
    def _drop(peer: Controller, address: hci.Address) -> None:
        for conn in list(peer.le_connections.values()):
            if conn.peer_address.address_bytes == address.address_bytes:
                peer.on_le_disconnected(conn, hci.HCI_CONNECTION_TIMEOUT_ERROR)


class Client(asyncio.Protocol):
    """One TCP client: H4 bytes in and out of its own controller."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.transport: asyncio.Transport | None = None
        self.controller: Controller | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.hub.count += 1
        self.source = StreamPacketSource()
        self.controller = HubController(
            f"hub-{self.hub.count}", host_source=self.source, host_sink=self, link=self.hub.link
        )

    def on_packet(self, packet: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(packet)

    def data_received(self, data: bytes) -> None:
        self.source.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.controller is not None:
            self.hub.gone(self.controller)
            self.controller = None


async def serve(port: int, supervision_s: float) -> None:
    hub = Hub(supervision_s)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Client(hub), LOOPBACK, port)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    server.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free)")
    ap.add_argument("--supervision-s", type=float, default=0.5)
    args = ap.parse_args(argv)
    asyncio.run(serve(args.port, args.supervision_s))
    sys.exit(0)


if __name__ == "__main__":
    main()
