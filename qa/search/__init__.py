"""Question time: the periods asked about, follow-ups, BM25 and dense search fused."""
