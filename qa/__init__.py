"""新闻问答: question answering with cited sources over Chinese news articles."""

__version__ = "0.1.0"
