"""Serving the page: a socket bound before anything starts (so a port in use is a usage error, and
port 0 takes a free one), uvicorn on it, stopped by Ctrl-C or by :meth:`LiveServer.stop`."""

from __future__ import annotations

import errno
import ipaddress
import socket

import uvicorn

from packgen.errors import UsageError
from packgen.serve.app import Live, Report, create_app
from packgen.serve.workspace import LiveWorkspace

#: the names a browser on this machine gives a server bound to a loopback address; any other name
#: in a request's Host header means a page from elsewhere reaching it through DNS rebinding
LOCAL_NAMES = ["127.0.0.1", "localhost"]


class LiveServer:
    """``packgen serve``'s server for ``workspace`` (already loaded), on ``host``:``port``."""

    def __init__(
        self,
        workspace: LiveWorkspace,
        host: str = "127.0.0.1",
        port: int = 8000,
        report: Report | None = None,
    ) -> None:
        self.socket = bind(host, port)
        self.host, self.port = self.socket.getsockname()[:2]
        self.live = Live(workspace, report)
        address = ipaddress.ip_address(self.host)
        self.local = address.is_loopback
        hosts = LOCAL_NAMES if self.local and address.version == 4 else None
        config = uvicorn.Config(
            create_app(self.live, hosts=hosts),
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = _Uvicorn(config, self.live)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def started(self) -> bool:
        return self._server.started

    def run(self) -> None:
        """Serve until :meth:`stop` or Ctrl-C (which then raises ``KeyboardInterrupt``)."""
        self._server.run(sockets=[self.socket])

    def stop(self) -> None:
        """Ask the server to stop (from any thread); :meth:`run` returns once it has."""
        self._server.should_exit = True


class _Uvicorn(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, live: Live) -> None:
        super().__init__(config)
        self.live = live

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.live.close()  # the pages' event streams end, so their connections close at once
        await super().shutdown(sockets=sockets)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port``, or a usage error that says what to change."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(f"--host {host}: not an address this machine knows ({exc})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(64)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"--port {port}: another program listens on {host}:{port}; choose another port "
                "(--port 0 takes a free one)"
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise UsageError(f"--host {host}: not an address of this machine") from None
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    sock.setblocking(False)
    return sock
