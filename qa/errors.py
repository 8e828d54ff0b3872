"""Domain errors. The library raises these; only the CLI and the web app turn them into messages.

Each error says what was wrong and what to do twice: in English (`str(error)`: the CLI, the APIs,
the server log) and in Chinese (`error.zh`: the page). A raise gives its own Chinese message
when it knows more than its class does; otherwise the class's message is shown.
"""


class QAError(Exception):
    """Base class: something the user can fix, with a message that says how."""

    zh = "操作没有完成：请检查输入后重试。"

    def __init__(self, message: str = "", *, zh: str | None = None) -> None:
        super().__init__(message)
        if zh:
            self.zh = zh


class CorpusError(QAError):
    """Articles could not be read (missing path, bad file under --strict, nothing to index)."""

    zh = "文章无法读取：请检查文件是否完整、格式是否受支持（.txt .md .jsonl .pdf .html .docx，截图 .png .jpg .webp）。"


class ModelLoadError(QAError):
    """An embedding model could not be loaded."""

    zh = "嵌入模型无法加载：请检查模型名称后重启服务。"


class IndexMissingError(QAError):
    """No index where one was expected."""

    zh = "找不到索引：请先用 qa build 建立索引。"


class IndexMismatchError(QAError):
    """The index was built with another embedder or format than the one requested."""

    zh = "索引与当前设置不一致：请用 qa build 重新建立索引。"


class QuestionError(QAError):
    """The question is empty, too long or otherwise unusable."""

    zh = "这个问题无法处理：请换一种问法再试。"


class DatasetError(QAError):
    """An evaluation dataset could not be read."""

    zh = "评测数据无法读取：请检查数据文件。"


class BuildRunningError(QAError):
    """Another build holds the index's writer lock."""

    zh = "另一个构建正在更新索引：请稍后再试。"


class StoreUnavailableError(QAError):
    """The store named by --store cannot be opened or reached (a Milvus server down, a Milvus Lite file in use)."""

    zh = "索引存储暂时无法访问：请稍后再试，或检查服务的 --store 设置。"


class UploadError(QAError):
    """A file given to the knowledge base was refused (too large, wrong content, unparsable)."""

    zh = "文件为空或无法识别：支持 .txt .md .jsonl .pdf .html .docx 和截图 .png .jpg .webp"


class PermissionRefusedError(QAError):
    """An action that changes the knowledge base was refused by the server's settings."""

    zh = "服务器的设置不允许修改资料库：请用 --auth USER:PASSWORD 启动服务（或只监听 127.0.0.1）。"


class FetchError(QAError):
    """A web page or feed could not be fetched (bad address, refused address, timeout, error status, too large)."""

    zh = "网页无法获取：请检查网址，或稍后再试。"


class FeedError(QAError):
    """A feed could not be added, read or found."""

    zh = "订阅源无法读取：请检查网址是否是 RSS 或 Atom 订阅源。"
