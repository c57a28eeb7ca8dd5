"""``user-service check | migrate | smoke | drift``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from tidb_compat.service import service_main

from .service import SPEC


def main(argv: Sequence[str] | None = None) -> int:
    return service_main(SPEC, argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
