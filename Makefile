# The two entry points of the README. Each sets up .venv first (quick when already done).
.PHONY: chat test lint

chat:
	./scripts/setup.sh
	.venv/bin/rag ui

test:
	./scripts/setup.sh --dev
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/python -m pytest

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
