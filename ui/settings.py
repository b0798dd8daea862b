"""Settings of the chat UI; the answering layer's settings are composed in."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from rag import RagSettings
from rag.settings import LayerSettings

REPO_SEEDS = Path(__file__).resolve().parent.parent / "seeds"


class UISettings(LayerSettings):
    """The chat's settings, and the root of every entry point's settings (CLI, chat)."""

    rag: RagSettings = Field(default_factory=RagSettings)
    ui_user: str = Field(default="rag", description="User name when a password is set.")
    ui_password: str | None = Field(
        default=None,
        description="Password for the chat (RAG_UI_PASSWORD); required to listen beyond 127.0.0.1.",
    )
    ui_users: dict[str, str] = Field(
        default_factory=dict,
        description='More chat logins, as JSON (RAG_UI_USERS=\'{"ana": "pw1", "ben": "pw2"}\'); '
        "each user sees only their own conversations.",
    )
    conversations_db: Path | None = Field(
        default=None,
        description="SQLite file the conversations are kept in (default: beside the store).",
    )
    upload_dir: Path | None = Field(
        default=None, description="Where uploaded files are kept (default: beside the store)."
    )
    seed_dir: Path = Field(
        default=REPO_SEEDS, description="Indexed on first start when the store is empty."
    )
    max_upload_mb: float = Field(default=50.0, description="Largest file accepted for upload.")

    def uploads(self) -> Path:
        return self.upload_dir or self.rag.index.store_dir.parent / "uploads"

    def conversations(self) -> Path:
        return self.conversations_db or self.rag.index.store_dir.parent / "conversations.sqlite"

    def logins(self) -> list[tuple[str, str]]:
        """Every (user, password) the chat accepts; empty: no login."""
        users = dict(self.ui_users)
        if self.ui_password:
            users[self.ui_user] = self.ui_password
        return sorted(users.items())
