"""Measuring retrieval and answers (`qa eval`) and the labeled news questions."""
