"""The 网页与订阅 tab: add a news page by its address, follow feeds, update them now.

Every change ends with the incremental rebuild (its progress on the page), in the same queue as the
资料库 tab's uploads and deletions: one change at a time. A failed page or feed is a message in the
panel (in Chinese); one failing feed is said in its row and never stops the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa.ingest.corpus import first_folder
from qa.ingest.feeds import Feed
from qa.serve.knowledge_base import KnowledgeBase
from qa.serve.library_view import WRITES, rebuild_shown
from qa.serve.page import as_text, page_message

if TYPE_CHECKING:  # gradio is imported only when the page is built
    import gradio as gr

FEED_COLUMNS = ["订阅源", "网址", "上次更新（UTC）", "上次新文章", "文章总数", "上次错误"]
NO_URL = "请先粘贴网址（以 http:// 或 https:// 开头）。"
NO_FEED = "请先在下拉框中选择要删除的订阅源。"


def feed_rows(feeds: list[Feed]) -> list[list]:
    """The feeds as the table shows them."""
    return [[f.title, f.url, f.checked[:16].replace("T", " ") or "尚未更新", f.new, f.articles, f.error_zh or f.error]
            for f in feeds]


def updated_message(reports) -> str:
    """What an update of every feed did, feed by feed, in a sentence each."""
    lines = []
    for r in reports:
        if r.error:
            lines.append(f"- {r.url}：更新失败：{r.error_zh or r.error}")
        elif r.unchanged:
            lines.append(f"- {r.url}：没有新文章")
        else:
            summaries = f"（其中 {r.summaries} 篇只有订阅源摘要）" if r.summaries else ""
            lines.append(f"- {r.url}：{r.new} 篇新文章或更新{summaries}")
    return "\n".join(lines) or "还没有订阅源。"


class WebHandlers:
    """What the tab's events do, over the knowledge base: add a page, add, update and remove feeds."""

    def __init__(self, knowledge_base: KnowledgeBase):
        self.knowledge_base = knowledge_base

    def feeds_shown(self):
        """The feeds' table rows, and the choice of feed to remove."""
        import gradio as gr

        has_folder = first_folder(self.knowledge_base.settings.corpus) is not None
        feeds = self.knowledge_base.feed_list().feeds() if has_folder else []  # no folder: nothing to feed
        return feed_rows(feeds), gr.update(choices=[f.url for f in feeds], value=None)

    def add_page(self, url: str, progress):
        """Fetch the page at `url` into the collection and rebuild; what happened, and the address box."""
        import gradio as gr

        if not (url or "").strip():
            return NO_URL, gr.skip()
        try:
            path, title = self.knowledge_base.add_url(url)
            return as_text(f"已添加《{title}》（{path.name}）。 " + rebuild_shown(self.knowledge_base, progress)), ""
        except Exception as error:  # the panel says what went wrong; the address stays in its box
            return as_text(page_message(error, "fetch")), gr.skip()

    def add_feed(self, url: str, progress):
        """Follow the feed at `url` and fetch its articles; what happened, and the feeds again."""
        import gradio as gr

        if not (url or "").strip():
            return (NO_URL,) + (gr.skip(),) * 3
        try:
            feed = self.knowledge_base.add_feed(url)
            message = f"已添加订阅源“{feed.title}”。\n" + self.updated(progress, only=feed.url)
            return (as_text(message), "", *self.feeds_shown())
        except Exception as error:
            return (as_text(page_message(error, "feed")),) + (gr.skip(),) * 3

    def updated(self, progress, only: str = "") -> str:
        """Update the feeds (or only the one at `only`), rebuilding when any brought news; what they did."""
        progress(0, desc="读取订阅源…")
        reports = self.knowledge_base.update_feeds(only)
        message = updated_message(reports)
        if any(r.new for r in reports):
            message += "\n\n" + rebuild_shown(self.knowledge_base, progress)
        return message

    def update_now(self, progress):
        """Update every feed now; what they did, and the feeds again."""
        import gradio as gr

        try:
            return (as_text(self.updated(progress)), *self.feeds_shown())
        except Exception as error:
            return (as_text(page_message(error, "feed")),) + (gr.skip(),) * 2

    def remove_feed(self, url: str | None):
        """Stop following the chosen feed (its articles stay); what happened, and the feeds again."""
        import gradio as gr

        if not url:
            return (NO_FEED,) + (gr.skip(),) * 2
        try:
            feed = self.knowledge_base.remove_feed(url)
            return (as_text(f"已删除订阅源“{feed.title}”；它带来的 {feed.articles} 篇文章仍在资料库中。"),
                    *self.feeds_shown())
        except Exception as error:
            return (as_text(page_message(error, "feed")),) + (gr.skip(),) * 2


@dataclass(frozen=True)
class WebPanel:
    """The tab's components that its events read or write."""

    page_url: gr.Textbox
    page_button: gr.Button
    page_status: gr.Markdown
    table: gr.Dataframe
    feed_url: gr.Textbox
    feed_button: gr.Button
    chosen: gr.Dropdown
    remove_button: gr.Button
    update_button: gr.Button
    feed_status: gr.Markdown


def lay_out_web(rows: list[list], choices: dict) -> WebPanel:
    """The tab's components, the feeds' table showing `rows` and the choice of feed offering `choices`."""
    import gradio as gr

    gr.Markdown("### 添加网页\n粘贴新闻文章的网址：抓取正文、标题、日期和来源后加入资料库，引用时链接到原网页。")
    with gr.Row():
        page_url = gr.Textbox(placeholder="https://…", show_label=False, max_lines=1, elem_id="web-url", scale=5)
        page_button = gr.Button("添加网页", variant="primary", elem_id="web-add", scale=1)
    page_status = gr.Markdown(elem_id="web-status")
    gr.Markdown("### 订阅源（RSS / Atom）\n订阅后，每次更新会抓取新文章的原网页；原网页无法获取时保留订阅源的摘要。"
                "也可以在终端运行 `qa watch --every 30m` 定时更新。")
    table = gr.Dataframe(value=rows, headers=FEED_COLUMNS, datatype=["str", "str", "str", "number", "number", "str"],
                         interactive=False, wrap=True, elem_id="feed-list", label="订阅源")
    with gr.Row():
        feed_url = gr.Textbox(placeholder="订阅源网址，如 https://example.com/rss.xml", show_label=False,
                              max_lines=1, elem_id="feed-url", scale=5)
        feed_button = gr.Button("添加订阅源", variant="primary", elem_id="feed-add", scale=1)
    with gr.Row():
        chosen = gr.Dropdown(choices["choices"], label="选择订阅源", elem_id="feed-choice", scale=4, interactive=True)
        remove_button = gr.Button("删除订阅源", variant="stop", elem_id="feed-remove", scale=1)
        update_button = gr.Button("立即更新全部", elem_id="feed-update", scale=1)
    feed_status = gr.Markdown(elem_id="feed-status")
    return WebPanel(page_url, page_button, page_status, table, feed_url, feed_button, chosen, remove_button,
                    update_button, feed_status)


def wire_web(panel: WebPanel, handlers: WebHandlers, tab) -> None:
    """Connect the tab's events to their handlers; every change in the 资料库's queue, one at a time."""
    import gradio as gr

    # Gradio gives a handler a progress bar when its signature has one as a default, an object of
    # gradio's: these few are therefore defined here, where gradio is imported.
    def add_page(url: str, progress=gr.Progress()):
        return handlers.add_page(url, progress)

    def add_feed(url: str, progress=gr.Progress()):
        return handlers.add_feed(url, progress)

    def update_now(progress=gr.Progress()):
        return handlers.update_now(progress)

    writes = dict(concurrency_id=WRITES, concurrency_limit=1, api_visibility="private")
    for trigger in (panel.page_url.submit, panel.page_button.click):
        trigger(add_page, [panel.page_url], [panel.page_status, panel.page_url], **writes)
    for trigger in (panel.feed_url.submit, panel.feed_button.click):
        trigger(add_feed, [panel.feed_url], [panel.feed_status, panel.feed_url, panel.table, panel.chosen], **writes)
    panel.update_button.click(update_now, None, [panel.feed_status, panel.table, panel.chosen], **writes)
    # `qa watch` may have updated the feeds since the tab was last shown
    tab.select(handlers.feeds_shown, None, [panel.table, panel.chosen], api_visibility="private")
    panel.remove_button.click(handlers.remove_feed, [panel.chosen], [panel.feed_status, panel.table, panel.chosen],
                              **writes)


def web_view(knowledge_base: KnowledgeBase, tab) -> None:
    """Lay out the tab's components and wire their events (inside a `gr.Blocks` context)."""
    handlers = WebHandlers(knowledge_base)
    panel = lay_out_web(*handlers.feeds_shown())
    wire_web(panel, handlers, tab)
