"""``type: file``: append each notification as one JSON line (``path: -``: standard
output). The file is opened for each line, so a rotated log is picked up."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from ragline.errors import NotifyError
from ragline.monitor._notification import Notification


class FileNotifier:
    kind = "file"

    def __init__(self, name: str, path: str | Path | None) -> None:
        """``path`` None: standard output."""
        self.name = name
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()

    def send(self, n: Notification) -> None:
        line = json.dumps(n.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            if self.path is None:
                sys.stdout.write(line)
                sys.stdout.flush()
                return
            try:
                with self.path.open("a", encoding="utf-8") as f:
                    f.write(line)
            except OSError as e:
                raise NotifyError(
                    f"notifier {self.name!r} (file): cannot append to {self.path}: "
                    f"{e.strerror or e}",
                    notifier=self.name,
                    hint="check that the folder exists and is writable",
                ) from None


__all__ = ["FileNotifier"]
