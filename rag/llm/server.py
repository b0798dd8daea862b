"""LLMs behind an HTTP API: any OpenAI-compatible server, and Ollama (through its /v1 API)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rag.errors import LLMUnavailableError, ModelUnavailableError
from rag.llm.base import Message, NoTokenProbabilities


class OpenAICompatibleLLM(NoTokenProbabilities):
    """Chat completions over HTTP; the server does the queueing."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        context_window: int = 4096,
        timeout: float = 120.0,
    ) -> None:
        import openai

        self._openai = openai
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0
        )
        self.base_url = base_url
        self.name = f"{model} @ {base_url}"
        self.model = model
        self.context_window = context_window

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        oa = self._openai
        import httpx  # the openai client's transport

        streamed = False
        try:
            response: Any = self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=0.0,
                stream=True,
            )
            for part in response:
                if part.choices and part.choices[0].delta.content:
                    streamed = True
                    yield part.choices[0].delta.content
        except (oa.APIConnectionError, httpx.TransportError) as exc:
            if not streamed:
                raise LLMUnavailableError(
                    f"Cannot reach the LLM server at {self.base_url}. Start it, or point "
                    "RAG_LLM_BASE_URL at a running server."
                ) from exc
            raise LLMUnavailableError(
                f"The LLM server at {self.base_url} stopped answering mid-reply "
                f"({type(exc).__name__}: {exc}). Check that it still runs, then ask again."
            ) from exc
        except oa.AuthenticationError as exc:
            raise LLMUnavailableError(
                f"The LLM server at {self.base_url} refused the API key. Set RAG_LLM_API_KEY."
            ) from exc
        except oa.NotFoundError as exc:
            raise ModelUnavailableError(
                f"The server at {self.base_url} has no model {self.model!r}. Set RAG_LLM_MODEL "
                "to one it serves (for Ollama: ollama pull MODEL)."
            ) from exc
        except oa.APIStatusError as exc:
            raise LLMUnavailableError(
                f"The LLM server at {self.base_url} answered HTTP {exc.status_code}: {exc.message}"
            ) from exc
        except oa.APIError as exc:  # an error event inside the stream
            raise LLMUnavailableError(
                f"The LLM server at {self.base_url} reported an error mid-reply: {exc.message}"
            ) from exc

    def count_tokens(self, text: str) -> int:
        # The server's tokenizer is not reachable through this API; ~3 characters a token
        # over-counts for the languages we see, which keeps prompts inside the window.
        return len(text) // 3 + 1
