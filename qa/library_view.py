"""The 资料库 tab: the article list with a title search, upload of files, delete with a confirmation.

Uploads and deletions run one at a time (their own queue) and end with the incremental rebuild,
shown as a progress bar; questions in the chat tab keep being answered meanwhile, from the old
index until the new one is complete.
"""


from pathlib import Path

from .errors import QAError, UploadError
from .knowledge_base import KnowledgeBase
from .page import as_text, readable_error

COLUMNS = ["标题", "来源", "日期", "文件", "段落数"]
UPLOAD_TYPES = [".md", ".txt", ".jsonl", ".pdf", ".html", ".htm", ".docx"]
SHOWN = 500  # rows listed at most: a large collection is found by its title search
WRITES = "library-writes"  # the queue of uploads and deletions: one at a time
_WHAT = {"passages": "段落", "sentences": "句子"}


def library_view(knowledge_base: KnowledgeBase, tab) -> None:
    """Lay out the tab's components and wire their events (inside a `gr.Blocks` context)."""
    import gradio as gr

    def listing(query: str):
        found = knowledge_base.articles(query or "")
        articles = found[:SHOWN]
        rows = [[a.title, a.source or "来源不详", a.date, a.path, a.chunks] for a in articles]
        manifest = knowledge_base.live.current().store.manifest
        summary = (f"共 {manifest.articles} 篇文章、{manifest.chunks} 个段落；索引更新于 "
                   f"{manifest.built_at or '未知'}")
        if query:
            summary += f"；标题含“{as_text(query)}”的 {len(found)} 篇"
        if len(found) > SHOWN:
            summary += f"；列出前 {SHOWN} 篇，按标题搜索可找到其余的"
        return rows, [a.path for a in articles], summary

    def refresh(query: str):
        rows, paths, summary = listing(query)
        return rows, paths, summary, None, gr.update(visible=False)

    def select(paths: list[str], event: gr.SelectData):
        row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        if row is None or row >= len(paths):
            return None, "", gr.update(visible=False)
        path = paths[row]
        from_file = [a for a in knowledge_base.articles() if a.path == path]
        note = f"（这个文件含 {len(from_file)} 篇文章，将一并删除）" if len(from_file) > 1 else ""
        title = from_file[0].title if from_file else path
        return path, f"确定删除《{as_text(title)}》吗？将删除文件 `{as_text(path)}` 及其段落{note}。", gr.update(visible=True)

    def rebuild(progress) -> str:
        def on_progress(what: str, done: int, total: int) -> None:
            progress((done, total), desc=f"嵌入新{_WHAT.get(what, what)}", unit="条")

        progress(0, desc="更新索引…")
        report = knowledge_base.rebuild(on_progress=on_progress,
                                        on_wait=lambda holder: progress(0, desc=f"等待另一个构建完成（{holder}）…"))
        return (f"索引已更新：{report.articles} 篇文章、{report.chunks} 个段落，新嵌入 {report.embedded} 个段落，"
                f"用时 {report.seconds:.1f} 秒。")

    def add(files: list[str] | None, query: str, progress=gr.Progress()):
        try:
            if not files:
                raise UploadError("没有选择文件：请先选择要添加的文件（.md .txt .jsonl .pdf .html .docx）")
            added, refused = [], []
            for file in files:
                name = Path(file).name
                try:
                    saved = knowledge_base.add(name, Path(file).read_bytes())
                    added.append(f"{saved.path.name}（{saved.articles} 篇）")
                except UploadError as error:
                    refused.append(str(error))
            lines = []
            if added:
                lines.append("已添加：" + "、".join(as_text(a) for a in added) + "。 " + rebuild(progress))
            if refused:
                lines.append("未添加：\n" + "\n".join(f"- {as_text(r)}" for r in refused))
            rows, paths, summary = listing(query)
            return "\n\n".join(lines), rows, paths, summary, None
        except QAError as error:
            raise readable_error(error) from error

    def delete(path: str | None, query: str, progress=gr.Progress()):
        try:
            if not path:
                raise UploadError("没有选择文章：请先在列表中点选要删除的文章")
            removed = knowledge_base.remove(path)
            message = f"已删除 {as_text(removed.name)}。 " + rebuild(progress)
            rows, paths, summary = listing(query)
            return message, rows, paths, summary, None, gr.update(visible=False)
        except QAError as error:
            raise readable_error(error) from error

    rows, paths, summary = listing("")
    summary_box = gr.Markdown(summary, elem_id="kb-summary")
    if not knowledge_base.editable:
        gr.Markdown(as_text(knowledge_base.refusal), elem_id="kb-readonly")
    with gr.Row():
        search = gr.Textbox(placeholder="按标题搜索", show_label=False, elem_id="kb-search", scale=4)
        refresh_button = gr.Button("刷新", elem_id="kb-refresh", size="sm", scale=1)
    table = gr.Dataframe(value=rows, headers=COLUMNS, datatype=["str", "str", "str", "str", "number"],
                         interactive=False, wrap=True, elem_id="kb-list", label="文章（点选一行可删除）")
    shown_paths = gr.State(paths)
    selected = gr.State(None)
    with gr.Group(visible=False, elem_id="kb-confirm-box") as confirm_box:
        question = gr.Markdown(elem_id="kb-confirm-question")
        with gr.Row():
            confirm = gr.Button("确认删除", variant="stop", elem_id="kb-confirm")
            cancel = gr.Button("取消", elem_id="kb-cancel")
    upload = gr.File(label=f"添加文章（{' '.join(UPLOAD_TYPES)}，每个文件不超过 {knowledge_base.max_upload_mb:g} MB）",
                     file_count="multiple", file_types=UPLOAD_TYPES, type="filepath", elem_id="kb-upload")
    add_button = gr.Button("添加到资料库", variant="primary", elem_id="kb-add")
    status = gr.Markdown(elem_id="kb-status")

    listed = [table, shown_paths, summary_box, selected, confirm_box]
    for trigger in (search.submit, refresh_button.click, tab.select):
        trigger(refresh, [search], listed, api_visibility="private")
    table.select(select, [shown_paths], [selected, question, confirm_box], api_visibility="private")
    cancel.click(lambda: (None, gr.update(visible=False)), None, [selected, confirm_box], api_visibility="private")
    add_button.click(add, [upload, search], [status, table, shown_paths, summary_box, upload],
                     concurrency_id=WRITES, concurrency_limit=1, api_visibility="private")
    confirm.click(delete, [selected, search], [status, table, shown_paths, summary_box, selected, confirm_box],
                  concurrency_id=WRITES, concurrency_limit=1, api_visibility="private")
