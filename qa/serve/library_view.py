"""The 资料库 tab: the article list with a title search, upload of files, delete with a confirmation.

Uploads and deletions run one at a time (their own queue) and end with the incremental rebuild,
shown as a progress bar; questions in the chat tab keep being answered meanwhile, from the old
index until the new one is complete. A refused file or a failed action is a message in the panel
(in Chinese); the panel stays usable.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qa.errors import UploadError
from qa.index.stores import IndexedArticle
from qa.ingest.dates import shown_date
from qa.serve.knowledge_base import KnowledgeBase, upload_year
from qa.serve.page import as_text, page_message

if TYPE_CHECKING:  # gradio is imported only when the page is built
    import gradio as gr

COLUMNS = ["标题", "来源", "日期", "文件", "段落数"]
UPLOAD_TYPES = [".md", ".txt", ".jsonl", ".pdf", ".html", ".htm", ".docx", ".png", ".jpg", ".jpeg", ".webp"]
SHOWN = 500  # rows listed at most: a large collection is found by its title search
NAMED = 5  # titles named at most when a file of many articles goes
WRITES = "library-writes"  # the queue of uploads and deletions: one at a time
_WHAT = {"passages": "段落", "sentences": "句子"}
NO_FILES = "没有选择文件：请先选择要添加的文件（.md .txt .jsonl .pdf .html .docx，或截图 .png .jpg .webp）。"
NO_ARTICLE = "没有选择文章：请先在列表中点选要删除的文章。"


def describe(article: IndexedArticle) -> str:
    """An article as a confirmation names it: its title, source and date (titles repeat across outlets)."""
    return f"《{article.title}》（{article.source or '来源不详'} · {shown_date(article.date)}）"


def titles_of(articles: list[IndexedArticle]) -> str:
    """The titles of the articles, the first few of a long list and their number."""
    named = "、".join(f"《{a.title}》" for a in articles[:NAMED])
    return named + (f" 等 {len(articles)} 篇" if len(articles) > NAMED else "")


def what_goes(article: IndexedArticle, same_file: list[IndexedArticle]) -> tuple[str, bool]:
    """The confirmation for deleting `article`, and whether it can go alone (a line of a .jsonl file
    of several articles) rather than only with its whole file."""
    count = len(same_file)
    if count <= 1:
        return f"确定删除{describe(article)}吗？将删除文件 {article.path}。", False
    if Path(article.path).suffix.lower() == ".jsonl":
        return (f"{describe(article)}是文件 {article.path} 中的 {count} 篇文章之一。“只删除这一篇”从文件中删去它；"
                f"“删除整个文件”删除全部 {count} 篇：{titles_of(same_file)}。"), True
    return (f"{describe(article)}与另外 {count - 1} 篇文章同在文件 {article.path} 中，只能整个文件一起删除，"
            f"将删除全部 {count} 篇：{titles_of(same_file)}。"), False


def rebuild_shown(knowledge_base: KnowledgeBase, progress) -> str:
    """The incremental rebuild, its progress shown on the page; what it did, in a sentence."""
    def on_progress(what: str, done: int, total: int) -> None:
        progress((done, total), desc=f"嵌入新{_WHAT.get(what, what)}", unit="条")

    progress(0, desc="更新索引…")
    report = knowledge_base.rebuild(on_progress=on_progress,
                                    on_wait=lambda holder: progress(0, desc=f"等待另一个构建完成（{holder}）…"))
    return (f"索引已更新：{report.articles} 篇文章、{report.chunks} 个段落，新嵌入 {report.embedded} 个段落，"
            f"用时 {report.seconds:.1f} 秒。")


def hidden():
    """The update that hides a component."""
    import gradio as gr

    return gr.update(visible=False)


class LibraryHandlers:
    """What the tab's events do, over the knowledge base: list, choose for deletion, add, delete."""

    def __init__(self, knowledge_base: KnowledgeBase):
        self.knowledge_base = knowledge_base

    def listing(self, query: str) -> tuple[list[list], list[str], str]:
        """The rows shown for `query` (a title search), their article ids, and the summary above them."""
        found = self.knowledge_base.articles(query or "")
        articles = found[:SHOWN]
        rows = [[a.title, a.source or "来源不详", shown_date(a.date), a.path, a.chunks] for a in articles]
        manifest = self.knowledge_base.live.current().store.manifest
        summary = (f"共 {manifest.articles} 篇文章、{manifest.chunks} 个段落；索引更新于 "
                   f"{manifest.built_at or '未知'}")
        if query:
            summary += f"；标题含“{as_text(query)}”的 {len(found)} 篇"
        if len(found) > SHOWN:
            summary += f"；列出前 {SHOWN} 篇，按标题搜索可找到其余的"
        return rows, [a.id for a in articles], summary

    def refresh(self, query: str):
        """The list again, with no article chosen for deletion."""
        rows, ids, summary = self.listing(query)
        return rows, ids, summary, None, hidden()

    def select(self, ids: list[str], index):
        """The article in the clicked row chosen for deletion, and the confirmation that names what goes."""
        import gradio as gr

        row = index[0] if isinstance(index, (list, tuple)) else index
        if row is None or row >= len(ids):
            return None, "", hidden(), gr.skip(), gr.skip()
        try:
            article = self.knowledge_base.article(ids[row])
        except UploadError as error:
            return None, as_text(page_message(error, "delete")), gr.update(visible=True), hidden(), hidden()
        same_file = self.knowledge_base.articles_of_file(article.path)
        question, alone = what_goes(article, same_file)
        question = as_text(question)
        whole = f"删除整个文件（{len(same_file)} 篇）" if len(same_file) > 1 else "确认删除"
        return (article.id, question, gr.update(visible=True), gr.update(visible=alone),
                gr.update(value=whole, visible=True))

    def save(self, files: list[str], year: int | None) -> tuple[list[str], list[str]]:
        """Add the uploaded files to the collection: the ones added and the ones refused, with why."""
        added, refused = [], []
        for file in files:
            name = Path(file).name
            try:
                saved = self.knowledge_base.add(name, Path(file).read_bytes(), year=year)
                added.append(f"{saved.path.name}（{saved.articles} 篇）")
            except UploadError as error:
                refused.append(f"{name}：{page_message(error, 'upload')}")
        return added, refused

    def add(self, files: list[str] | None, year: float | None, query: str, progress):
        """Add the uploaded files and rebuild; what happened, and the list again."""
        import gradio as gr

        unchanged = (gr.skip(),) * 4
        if not files:
            return (NO_FILES, *unchanged)
        try:
            added, refused = self.save(files, upload_year(year))  # checked once, for all files
            lines = []
            if added:
                lines.append("已添加：" + "、".join(as_text(a) for a in added) + "。 "
                             + rebuild_shown(self.knowledge_base, progress))
            if refused:
                lines.append("未添加：\n" + "\n".join(f"- {as_text(r)}" for r in refused))
            rows, ids, summary = self.listing(query)
            return "\n\n".join(lines), rows, ids, summary, None
        except Exception as error:  # the panel says what went wrong and stays usable
            return (as_text(page_message(error, "upload")), *unchanged)

    def delete(self, article_id: str | None, query: str, one: bool, progress) -> tuple:
        """Delete the chosen article (`one`) or its whole file and rebuild; what happened, and the list again."""
        import gradio as gr

        if not article_id:
            return (NO_ARTICLE,) + (gr.skip(),) * 5
        try:
            article = self.knowledge_base.article(article_id)
            if one:
                self.knowledge_base.remove_article(article_id)
                message = as_text(f"已删除{describe(article)}，它原在文件 {article.path} 中。")
            else:
                same_file = self.knowledge_base.articles_of_file(article.path)
                self.knowledge_base.remove(article.path)
                message = as_text(f"已删除文件 {article.path}（{len(same_file)} 篇：{titles_of(same_file)}）。")
            message += " " + rebuild_shown(self.knowledge_base, progress)
            rows, ids, summary = self.listing(query)
            return message, rows, ids, summary, None, hidden()
        except Exception as error:  # the panel says what went wrong and stays usable
            return (as_text(page_message(error, "delete")),) + (gr.skip(),) * 5


@dataclass(frozen=True)
class LibraryPanel:
    """The tab's components that its events read or write."""

    summary: "gr.Markdown"
    search: "gr.Textbox"
    refresh_button: "gr.Button"
    table: "gr.Dataframe"
    shown_ids: "gr.State"
    selected: "gr.State"  # the id of the article chosen for deletion
    confirm_box: "gr.Group"
    question: "gr.Markdown"
    confirm_article: "gr.Button"
    confirm: "gr.Button"
    cancel: "gr.Button"
    upload: "gr.File"
    year: "gr.Textbox"
    add_button: "gr.Button"
    status: "gr.Markdown"


def lay_out_library(knowledge_base: KnowledgeBase, rows: list[list], ids: list[str], summary: str) -> LibraryPanel:
    """The tab's components, the list showing `rows` (of the articles `ids`) under `summary`."""
    import gradio as gr

    summary_box = gr.Markdown(summary, elem_id="kb-summary")
    if not knowledge_base.editable:
        gr.Markdown(as_text(knowledge_base.refusal), elem_id="kb-readonly")
    with gr.Row():
        search = gr.Textbox(placeholder="按标题搜索", show_label=False, elem_id="kb-search", scale=4)
        refresh_button = gr.Button("刷新", elem_id="kb-refresh", size="sm", scale=1)
    table = gr.Dataframe(value=rows, headers=COLUMNS, datatype=["str", "str", "str", "str", "number"],
                         interactive=False, wrap=True, elem_id="kb-list", label="文章（点选一行可删除）")
    shown_ids = gr.State(ids)
    selected = gr.State(None)
    with gr.Group(visible=False, elem_id="kb-confirm-box") as confirm_box:
        question = gr.Markdown(elem_id="kb-confirm-question")
        with gr.Row():
            confirm_article = gr.Button("只删除这一篇", variant="stop", elem_id="kb-confirm-article", visible=False)
            confirm = gr.Button("确认删除", variant="stop", elem_id="kb-confirm")
            cancel = gr.Button("取消", elem_id="kb-cancel")
    upload = gr.File(label=f"添加文章（{' '.join(UPLOAD_TYPES)}，每个文件不超过 {knowledge_base.max_upload_mb:g} MB）",
                     file_count="multiple", file_types=UPLOAD_TYPES, type="filepath", elem_id="kb-upload")
    year = gr.Textbox(label="年份（可选）：文章的日期没有写年份时，按这一年", placeholder="如 2023；留空则不补年份",
                      max_lines=1, elem_id="kb-year")
    add_button = gr.Button("添加到资料库", variant="primary", elem_id="kb-add")
    status = gr.Markdown(elem_id="kb-status")
    return LibraryPanel(summary_box, search, refresh_button, table, shown_ids, selected, confirm_box, question,
                        confirm_article, confirm, cancel, upload, year, add_button, status)


def wire_library(panel: LibraryPanel, handlers: LibraryHandlers, tab) -> None:
    """Connect the tab's events to their handlers; uploads and deletions in their own queue, one at a time."""
    import gradio as gr

    # Gradio gives a handler the clicked row and a progress bar by its signature (an annotation, a
    # default), both gradio's own classes: these few are therefore defined here, where gradio is
    # imported. (This module must not postpone annotations: `event` needs the class itself.)
    def select(ids: list[str], event: gr.SelectData):
        return handlers.select(ids, event.index)

    def add(files: list[str] | None, year: float | None, query: str, progress=gr.Progress()):
        return handlers.add(files, year, query, progress)

    def delete_file(article_id: str | None, query: str, progress=gr.Progress()):
        return handlers.delete(article_id, query, False, progress)

    def delete_article(article_id: str | None, query: str, progress=gr.Progress()):
        return handlers.delete(article_id, query, True, progress)

    refresh = handlers.refresh  # one function for its three triggers: Gradio queues them as one group
    listed = [panel.table, panel.shown_ids, panel.summary, panel.selected, panel.confirm_box]
    for trigger in (panel.search.submit, panel.refresh_button.click, tab.select):
        trigger(refresh, [panel.search], listed, api_visibility="private")
    panel.table.select(select, [panel.shown_ids],
                       [panel.selected, panel.question, panel.confirm_box, panel.confirm_article, panel.confirm],
                       api_visibility="private")
    panel.cancel.click(lambda: (None, hidden()), None, [panel.selected, panel.confirm_box], api_visibility="private")
    writes = dict(concurrency_id=WRITES, concurrency_limit=1, api_visibility="private")
    panel.add_button.click(add, [panel.upload, panel.year, panel.search],
                    [panel.status, panel.table, panel.shown_ids, panel.summary, panel.upload], **writes)
    deleted = [panel.status, panel.table, panel.shown_ids, panel.summary, panel.selected, panel.confirm_box]
    panel.confirm.click(delete_file, [panel.selected, panel.search], deleted, **writes)
    panel.confirm_article.click(delete_article, [panel.selected, panel.search], deleted, **writes)

def library_view(knowledge_base: KnowledgeBase, tab) -> None:
    """Lay out the tab's components and wire their events (inside a `gr.Blocks` context)."""
    handlers = LibraryHandlers(knowledge_base)
    panel = lay_out_library(knowledge_base, *handlers.listing(""))
    wire_library(panel, handlers, tab)
