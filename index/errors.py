"""Error types shared by every layer: each says what went wrong and what to do next."""

from __future__ import annotations


class RagError(Exception):
    """Base class for user-facing failures; the message always ends with what to try."""


class SettingsError(RagError):
    """A setting (environment variable or argument) has a value that cannot work."""


class MissingPathError(RagError):
    """A path given to index does not exist."""


class DocumentError(RagError):
    """One document could not be read; the others are unaffected."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class EmptyStoreError(RagError):
    """The store holds no documents yet."""


class ModelMismatchError(RagError):
    """The store was built with another embedding model than the one configured."""


class StoreUnavailableError(RagError):
    """The Chroma store (directory or server) cannot be opened or reached."""


class EmbedderError(RagError):
    """The configured embedding model cannot be loaded."""


class UnknownSourceError(RagError):
    """A document or folder to search within holds nothing indexed."""
