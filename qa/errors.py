"""Domain errors. The library raises these; only the CLI and the web app turn them into messages."""


class QAError(Exception):
    """Base class: something the user can fix, with a message that says how."""


class CorpusError(QAError):
    """Articles could not be read (missing path, bad file under --strict, nothing to index)."""


class ModelLoadError(QAError):
    """An embedding model could not be loaded."""


class IndexMissingError(QAError):
    """No index where one was expected."""


class IndexMismatchError(QAError):
    """The index was built with another embedder or format than the one requested."""


class QuestionError(QAError):
    """The question is empty, too long or otherwise unusable."""


class DatasetError(QAError):
    """An evaluation dataset could not be read."""


class BuildRunningError(QAError):
    """Another build holds the index's writer lock."""


class StoreUnavailableError(QAError):
    """The store named by --store cannot be opened or reached (a Milvus server down, a Milvus Lite file in use)."""


class UploadError(QAError):
    """A file given to the knowledge base was refused (too large, wrong content, unparsable)."""


class PermissionRefusedError(QAError):
    """An action that changes the knowledge base was refused by the server's settings."""
