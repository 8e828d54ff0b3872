"""From the hits to a cited answer: the sentence scorer, the reader, the reply, the optional LLM."""
