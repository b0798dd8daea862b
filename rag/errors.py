"""Failures of the answering layer (the shared base class lives in index.errors)."""

from __future__ import annotations

from index.errors import RagError


class QuestionError(RagError):
    """The question is empty, too long or otherwise unusable."""


class BackendError(RagError):
    """The LLM backend is unknown or misconfigured."""


class LLMUnavailableError(RagError):
    """The LLM server cannot be reached or refused the request."""


class ModelUnavailableError(RagError):
    """The LLM model file or name cannot be found."""
