"""A fault-injecting TCP proxy for the tests: loopback only, bounded, in its own thread.

``FaultProxy`` listens on 127.0.0.1 (a random port) and forwards every connection to one
loopback server.  It can

- add latency per direction (``latency_up``: client to server, ``latency_down``: back),
  without reducing throughput (each chunk is delayed, chunks stay in order);
- cut a connection when it sees the client send a statement that starts with a chosen
  prefix (``arm_cut("COMMIT", forward=True)``): either *before forwarding* it (the server
  never sees it) or *after forwarding* it (the server executes it; its reply is dropped
  and the connection is cut before the client sees it: the "COMMIT in flight" case);
- cut every open connection at once (``cut_all``).

Statements are read from the client's stream: MySQL ``COM_QUERY`` packets (a command starts a
packet sequence at 0) and PostgreSQL simple (``Q``) and extended (``P``, Parse) query
messages.  Parsing only *inspects* the stream; forwarding never waits for it, so an
unparsable stream (TLS) is forwarded untouched, just never cut by statement.

Bounds: ``max_connections`` at a time (more are closed at once and counted in
``refused``), ``max_lifetime`` seconds for the whole proxy (then it closes everything and
sets ``expired``), and a timeout on connecting to the server.  Both the listening address
and the target must be loopback addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import threading
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Literal, TypeVar

Protocol = Literal["mysql", "postgresql"]
T = TypeVar("T")

_MAX_MESSAGE: Final = 64 * 1024 * 1024
"""A message longer than this makes the parser give up (the stream is then opaque)."""

_PG_SSL_REQUEST: Final = 80877103
_PG_GSSENC_REQUEST: Final = 80877104
_PG_CANCEL_REQUEST: Final = 80877102
_CONNECT_TIMEOUT: Final = 5.0
_REPLY_TIMEOUT: Final = 5.0
"""How long a forwarded statement waits for its reply before the connection is cut anyway."""


def _require_loopback(host: str, what: str) -> str:
    address = "127.0.0.1" if host == "localhost" else host
    try:
        if ipaddress.ip_address(address).is_loopback:
            return address
    except ValueError:
        pass
    raise ValueError(f"FaultProxy {what} must be a loopback address, got {host!r}")


@dataclass(frozen=True)
class Message:
    """One complete client message: its place in the client's byte stream, and the SQL
    text when it is a query."""

    start: int
    end: int
    statement: str | None
    command: bool = False
    """True for a message that asks the server for a reply: one round trip (a MySQL command
    packet, COM_PING included; a PostgreSQL simple query or extended-protocol Sync)."""


class _Parser:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._offset = 0  # stream offset of _buffer[0]
        self.opaque = False

    def feed(self, data: bytes) -> list[Message]:
        if self.opaque:
            return []
        self._buffer += data
        messages: list[Message] = []
        while not self.opaque:
            message = self._next()
            if message is None:
                break
            messages.append(message)
        if self.opaque:
            self._buffer.clear()
        return messages

    def _take(self, size: int, statement: str | None, command: bool = False) -> Message:
        message = Message(self._offset, self._offset + size, statement, command)
        del self._buffer[:size]
        self._offset += size
        return message

    def _next(self) -> Message | None:
        raise NotImplementedError


class MySQLClientParser(_Parser):
    """Packets: 3-byte little-endian length, sequence number, payload."""

    def _next(self) -> Message | None:
        if len(self._buffer) < 4:
            return None
        length = int.from_bytes(self._buffer[0:3], "little")
        if length > _MAX_MESSAGE:
            self.opaque = True
            return None
        if len(self._buffer) < 4 + length:
            return None
        sequence = self._buffer[3]
        statement = None
        if sequence == 0 and length > 0 and self._buffer[4] == 0x03:  # COM_QUERY
            statement = bytes(self._buffer[5 : 4 + length]).decode("utf-8", "replace")
        # Sequence 0 starts a command (the handshake response is sequence 1).
        return self._take(4 + length, statement, command=sequence == 0)


class PostgreSQLClientParser(_Parser):
    """Untyped startup messages (SSL/GSS requests, startup, cancel), then typed messages:
    one type byte, a 4-byte big-endian length that counts itself, the body."""

    def __init__(self) -> None:
        super().__init__()
        self._startup = True

    def _next(self) -> Message | None:
        if self._startup:
            if len(self._buffer) < 8:
                return None
            length = int.from_bytes(self._buffer[0:4], "big")
            if not 8 <= length <= 10_000:
                self.opaque = True
                return None
            if len(self._buffer) < length:
                return None
            code = int.from_bytes(self._buffer[4:8], "big")
            if code not in (_PG_SSL_REQUEST, _PG_GSSENC_REQUEST, _PG_CANCEL_REQUEST):
                self._startup = False
            return self._take(length, None)
        if len(self._buffer) < 5:
            return None
        kind = self._buffer[0]
        length = int.from_bytes(self._buffer[1:5], "big")
        if length < 4 or length > _MAX_MESSAGE:
            self.opaque = True
            return None
        if len(self._buffer) < 1 + length:
            return None
        body = bytes(self._buffer[5 : 1 + length])
        statement = None
        if kind == ord("Q"):
            statement = body.split(b"\x00", 1)[0].decode("utf-8", "replace")
        elif kind == ord("P"):  # Parse: statement name, NUL, query text, NUL, ...
            parts = body.split(b"\x00", 2)
            if len(parts) >= 2:
                statement = parts[1].decode("utf-8", "replace")
        return self._take(1 + length, statement, command=kind in (ord("Q"), ord("S")))


def _parser(protocol: Protocol) -> _Parser:
    return MySQLClientParser() if protocol == "mysql" else PostgreSQLClientParser()


def _matches(statement: str, prefix: str) -> bool:
    return statement.lstrip(" \t\r\n(").upper().startswith(prefix.upper())


@dataclass
class _Cut:
    prefix: str
    forward: bool
    remaining: int


class _EOF:
    pass


class _CutNow:
    pass


_Item = tuple[float, bytes] | _EOF | _CutNow


class _Link:
    """One proxied connection: two directions, each a reader feeding a delayed writer."""

    def __init__(
        self, proxy: FaultProxy, client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        server: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        self.proxy = proxy
        self.client_reader, self.client_writer = client
        self.server_reader, self.server_writer = server
        self.parser = _parser(proxy.protocol)
        self.up: asyncio.Queue[_Item] = asyncio.Queue()
        self.down: asyncio.Queue[_Item] = asyncio.Queue()
        self.cut_on_reply = False
        self.closed = False
        self.tasks: list[asyncio.Task[None]] = []
        self.reply_timer: asyncio.TimerHandle | None = None

    async def run(self) -> None:
        self.tasks = [
            asyncio.ensure_future(self._read_client()),
            asyncio.ensure_future(self._write(self.up, self.server_writer, "up")),
            asyncio.ensure_future(self._read_server()),
            asyncio.ensure_future(self._write(self.down, self.client_writer, "down")),
        ]
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.close(abort=False)

    def close(self, *, abort: bool) -> None:
        if self.closed:
            return
        self.closed = True
        if self.reply_timer is not None:
            self.reply_timer.cancel()
        for writer in (self.client_writer, self.server_writer):
            if abort:
                writer.transport.abort()
            else:
                writer.close()
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()

    def cut(self) -> None:
        if not self.closed:
            self.proxy._count_cut()
        self.close(abort=True)

    def _reply_timeout(self) -> None:
        if not self.closed:
            self.cut()

    async def _read_client(self) -> None:
        offset = 0
        loop = asyncio.get_running_loop()
        while True:
            data = await self.client_reader.read(65536)
            if not data:
                await self.up.put(_EOF())
                return
            start = offset
            offset += len(data)
            for message in self.parser.feed(data):
                if message.command:
                    self.proxy._count_round_trip()
                if message.statement is None:
                    continue
                self.proxy._record(message.statement)
                rule = self.proxy._take_cut(message.statement)
                if rule is None:
                    continue
                if not rule.forward:
                    head = data[: max(0, message.start - start)]
                    if head:
                        await self.up.put((loop.time() + self.proxy.latency_up, head))
                    await self.up.put(_CutNow())
                    return
                self.cut_on_reply = True
                self.reply_timer = loop.call_later(self.proxy.latency_up + _REPLY_TIMEOUT, self._reply_timeout)
            await self.up.put((loop.time() + self.proxy.latency_up, data))

    async def _read_server(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await self.server_reader.read(65536)
            if not data:
                await self.down.put(_EOF())
                return
            if self.cut_on_reply:  # the statement was forwarded; its reply never arrives
                self.cut()
                return
            await self.down.put((loop.time() + self.proxy.latency_down, data))

    async def _write(self, queue: asyncio.Queue[_Item], writer: asyncio.StreamWriter, direction: str) -> None:
        loop = asyncio.get_running_loop()
        while True:
            item = await queue.get()
            if isinstance(item, _EOF):
                self.close(abort=False)
                return
            if isinstance(item, _CutNow):
                self.cut()
                return
            due, data = item
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()


class FaultProxy:
    """See the module documentation.  Use as a context manager::

        with FaultProxy("127.0.0.1", 3306, protocol="mysql") as proxy:
            url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
            proxy.arm_cut("COMMIT", forward=True)
    """

    def __init__(
        self, target_host: str, target_port: int, *, protocol: Protocol, latency_up: float = 0.0,
        latency_down: float = 0.0, max_connections: int = 32, max_lifetime: float = 120.0,
    ) -> None:
        self.target_host = _require_loopback(target_host, "target")
        self.target_port = target_port
        self.protocol: Protocol = protocol
        self.latency_up = latency_up
        self.latency_down = latency_down
        self.max_connections = max_connections
        self.max_lifetime = max_lifetime
        self.port = 0
        self.accepted = 0
        """Connections accepted so far."""
        self.refused = 0
        """Connections closed at once because ``max_connections`` were open."""
        self.cuts = 0
        """Connections cut (by a statement rule or ``cut_all``)."""
        self.expired = False
        """True once ``max_lifetime`` ended the proxy."""
        self.statements: deque[str] = deque(maxlen=500)
        """The most recent statements seen from clients."""
        self.round_trips = 0
        """Client requests that wait for a server reply (see ``Message.command``)."""
        self._lock = threading.Lock()
        self._rules: list[_Cut] = []
        self._links: set[_Link] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None

    # -- control, from any thread ------------------------------------------------------------

    def arm_cut(self, prefix: str, *, forward: bool, times: int = 1) -> None:
        """Cut the next ``times`` connections whose client sends a statement starting with
        ``prefix`` (case-insensitive): before forwarding it, or after forwarding it and
        before its reply reaches the client."""
        with self._lock:
            self._rules.append(_Cut(prefix, forward, times))

    def disarm(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def armed(self) -> int:
        """Cuts still armed."""
        with self._lock:
            return sum(rule.remaining for rule in self._rules)

    def set_latency(self, up: float, down: float) -> None:
        self.latency_up, self.latency_down = up, down

    def cut_all(self) -> int:
        """Cut every open connection now; how many were cut."""
        return self._call(self._cut_all)

    def _count_round_trip(self) -> None:
        with self._lock:
            self.round_trips += 1

    def reset_counts(self) -> None:
        """Forget the statements and round trips seen so far."""
        with self._lock:
            self.statements.clear()
            self.round_trips = 0

    def seen(self, prefix: str) -> int:
        """How many recorded statements start with ``prefix``."""
        with self._lock:
            return sum(1 for statement in self.statements if _matches(statement, prefix))

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        self.port = self._call(self._serve)

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            self._call(self._shutdown)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        if not thread.is_alive():
            loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- inside the proxy's loop -----------------------------------------------------------

    def _call(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        assert self._loop is not None, "the proxy is not running"
        return asyncio.run_coroutine_threadsafe(factory(), self._loop).result(timeout=15)

    async def _serve(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        asyncio.get_running_loop().call_later(self.max_lifetime, self._expire)
        return int(self._server.sockets[0].getsockname()[1])

    def _expire(self) -> None:
        self.expired = True
        self._close_all()

    def _close_all(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.close(abort=True)
        self._links.clear()

    async def _shutdown(self) -> None:
        self._close_all()
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        if pending:
            await asyncio.wait(pending, timeout=5)
        if self._server is not None:
            await asyncio.wait_for(self._server.wait_closed(), timeout=5)

    async def _cut_all(self) -> int:
        links = [link for link in self._links if not link.closed]
        for link in links:
            link.cut()
        return len(links)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.expired or len(self._links) >= self.max_connections:
            self.refused += 1
            writer.transport.abort()
            return
        try:
            server = await asyncio.wait_for(
                asyncio.open_connection(self.target_host, self.target_port), timeout=_CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError):
            writer.transport.abort()
            return
        self.accepted += 1
        link = _Link(self, (reader, writer), server)
        self._links.add(link)
        try:
            await link.run()
        finally:
            self._links.discard(link)

    def _record(self, statement: str) -> None:
        with self._lock:
            self.statements.append(statement[:200])

    def _take_cut(self, statement: str) -> _Cut | None:
        with self._lock:
            for rule in self._rules:
                if rule.remaining > 0 and _matches(statement, rule.prefix):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                    return rule
        return None

    def _count_cut(self) -> None:
        with self._lock:
            self.cuts += 1
