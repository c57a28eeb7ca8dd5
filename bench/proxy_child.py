"""The latency proxy's child process:
``python -m bench.proxy_child HOST PORT PROTOCOL ONE_WAY LIFETIME``.

Prints the proxy's port, then answers one line per command read from stdin: ``reset``
(forget the counts: ``ok``), ``count`` (round trips since the last reset), ``latency SECONDS``
(the delay each way: ``ok``), ``stop`` (or end of input) closes the proxy.  Loopback only
(FaultProxy refuses anything else); the proxy also ends by itself after LIFETIME seconds.
"""

from __future__ import annotations

import asyncio
import selectors
import sys
from typing import Literal, cast

from tests.faults.proxy import FaultProxy


class _FineTimerPolicy(asyncio.DefaultEventLoopPolicy):
    """Event loops on ``select()``, whose timeout has microsecond resolution: epoll's (the
    default) rounds every wait up to a whole millisecond, which would turn a 0.5 ms delay
    into 1 ms or more."""

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.SelectorEventLoop(selectors.SelectSelector())


def main(argv: list[str]) -> int:
    host, port, protocol, one_way, lifetime = argv
    asyncio.set_event_loop_policy(_FineTimerPolicy())
    with FaultProxy(host, int(port), protocol=cast(Literal["mysql", "postgresql"], protocol),
                    latency_up=float(one_way), latency_down=float(one_way), max_connections=256,
                    max_lifetime=float(lifetime)) as proxy:
        print(proxy.port, flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "reset":
                proxy.reset_counts()
                print("ok", flush=True)
            elif command == "count":
                print(proxy.round_trips, flush=True)
            elif command.startswith("latency "):
                delay = float(command.split()[1])
                proxy.set_latency(delay, delay)
                print("ok", flush=True)
            else:
                break
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
