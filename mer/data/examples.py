"""The Analyze page's one-click examples: short excerpts of real, freely licensed music.

They ship in ``mer/resources/examples/`` with ``examples.json`` (title, author,
licence, Debian package and source file of each) and ``LICENSES.md``. Nothing
is synthesised: the page reads the bytes and analyses them like an upload.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..files import read_json

__all__ = ["Example", "EXAMPLES_DIR", "list_examples"]

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "resources" / "examples"


@dataclass(frozen=True)
class Example:
    """One bundled excerpt and where it comes from."""

    path: Path
    title: str
    author: str
    character: str  # how it sounds, in words (measured tempo and onsets, not a label)
    licence: str  # SPDX-style identifier, e.g. "CC-BY-SA-3.0"
    licence_url: str
    package: str  # the Debian package it was taken from
    source: str  # the file in that package
    excerpt: str  # which seconds of the source

    @property
    def credit(self) -> str:
        """One line for beside the player."""
        return f"“{self.title}” by {self.author}, {self.licence}; excerpt {self.excerpt} of {self.source} " \
               f"from the Debian package {self.package}."

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


def list_examples(folder: str | Path = EXAMPLES_DIR) -> tuple[Example, ...]:
    """The examples in ``folder``'s ``examples.json``, in its order.

    Raises
    ------
    DataError
        The manifest is missing or unreadable, or names a file that is not there.
    """
    folder = Path(folder)
    manifest = folder / "examples.json"
    try:
        entries = read_json(manifest, error=DataError)
    except OSError as e:
        raise DataError(f"Cannot read the examples manifest '{manifest}' ({e}). Reinstall mer.") from None
    examples = []
    for entry in entries:
        path = folder / entry.pop("file")
        if not path.is_file():
            raise DataError(f"The example '{path.name}' named in '{manifest.name}' is missing. Reinstall mer.")
        examples.append(Example(path=path, **entry))
    return tuple(examples)
