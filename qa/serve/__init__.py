"""The page, its knowledge base, live reload and the OpenAI-compatible API."""
