"""Embedding chunks and keeping them in a store, updated incrementally."""
