"""``first-passwords.csv``: the first passwords of accounts `connec people import
--create-accounts` made, kept until the operator has handed them on.

Each password is appended and flushed to disk *before* its account is made, so a
crash at any point loses none: an account whose making was cut short is made again
with the password already on file. The file is only ever appended to (mode 0600);
the operator deletes it, or lines of it, once the passwords are delivered.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from connec.secrets import SECRET_MODE

FILE_NAME = "first-passwords.csv"
HEADER = ("matrix_id", "first_password")


class FirstPasswords:
    """The file of first passwords in one data folder."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, str]:
        """Every password on file by Matrix ID (a later line wins)."""
        if not self.path.exists():
            return {}
        with self.path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        return {row[0]: row[1] for row in rows[1:] if len(row) >= 2 and row[0] != HEADER[0]}

    def append(self, matrix_id: str, password: str) -> None:
        """Add one line and wait until it is on disk."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        new = not self.path.exists()
        if new:
            writer.writerow(HEADER)
        writer.writerow((matrix_id, password))
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, SECRET_MODE)
        try:
            os.fchmod(fd, SECRET_MODE)
            os.write(fd, out.getvalue().encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            # The file's name in its folder must be on disk too.
            folder = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
