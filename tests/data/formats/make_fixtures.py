"""Regenerate the fixtures of tests/test_formats.py: `.venv/bin/python tests/data/formats/make_fixtures.py`.

Needs headless Chromium (`chromium` on PATH, with a CJK font such as fonts-wqy-microhei) for the
PDFs and python-docx for the .docx. The outputs are kept in this folder, so tests never run a browser.
The news texts are written for the tests: each holds facts (numbers, names) a test looks for.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent

PDF_TITLE = "武汉光谷举办人工智能产业博览会"
PDF_SOURCE_LINE = "新华社武汉10月24日电（记者 李明）"
PDF_PARAGRAPHS = [
    "10月24日，2024中国光谷人工智能产业博览会在武汉东湖高新区开幕。本届博览会以“智算赋能，"
    "产业向新”为主题，展览面积达3.2万平方米，吸引了华为、科大讯飞、小米等326家企业参展，"
    "集中展示大模型、智能网联汽车、具身智能机器人等领域的最新成果。",
    "武汉东湖高新区管委会副主任张建华在开幕式上介绍，光谷坚持双向发力，持续推动算力基础设施"
    "建设和应用场景开放，目前已建成武汉人工智能计算中心等5个智算中心，总算力规模超过"
    "2000P，聚集人工智能企业超过1100家，2023年核心产业规模突破650亿元。",
    "博览会期间还将举办23场专题论坛和供需对接活动，现场签约项目41个，总金额达186亿元。"
    "组委会预计，三天展期内将接待专业观众和市民超过8万人次。",
]
# Narrow pages: every paragraph wraps mid-sentence and the text runs over several pages.
PDF_STYLE = ("body{font-family:'WenQuanYi Micro Hei';font-size:13px;line-height:1.6;margin:0}"
             "h1{font-size:13px;margin:0 0 8px}p{margin:0 0 8px;text-indent:2em}")
HEADER = ('<div style="font-size:8px;width:100%;text-align:center;'
          "font-family:'WenQuanYi Micro Hei'\">新华网 · 科技频道</div>")
FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;">'
          '<span class="pageNumber"></span></div>')


def news_pdf_html() -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in [PDF_SOURCE_LINE, *PDF_PARAGRAPHS])
    # No <title>: Chromium then writes /Title "about:blank", so the reader takes the first line.
    return (f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><style>{PDF_STYLE}</style>'
            f"</head><body><h1>{PDF_TITLE}</h1>{paragraphs}</body></html>")


def make_pdfs(browser) -> None:
    """news.pdf (a text layer, wrapped lines, header and page numbers) and scan.pdf (an image only)."""
    page = browser.new_page()
    page.set_content(news_pdf_html())
    page.pdf(path=str(HERE / "news.pdf"), width="70mm", height="110mm", print_background=False,
             display_header_footer=True, header_template=HEADER, footer_template=FOOTER,
             margin={"top": "12mm", "bottom": "12mm", "left": "6mm", "right": "6mm"})
    # A "scan": the first paragraph rendered to a picture, then printed as a PDF holding only that picture.
    page.set_viewport_size({"width": 320, "height": 160})
    page.set_content(f"<html><head><style>{PDF_STYLE}</style></head><body style='padding:6px'>"
                     f"<h1>{PDF_TITLE}</h1><p>{PDF_PARAGRAPHS[0]}</p></body></html>")
    picture = base64.b64encode(page.screenshot(type="jpeg", quality=60)).decode()
    page.set_content(f'<html><body style="margin:0"><img src="data:image/jpeg;base64,{picture}"></body></html>')
    page.pdf(path=str(HERE / "scan.pdf"), width="90mm", height="60mm")
    page.close()


NAV = """<header class="site-header"><div class="logo">新华网</div>
<nav><ul><li><a href="/">首页</a></li><li><a href="/politics/">时政</a></li><li><a href="/fortune/">财经</a></li>
<li><a href="/tech/">科技</a></li><li><a href="/local/">地方</a></li><li><a href="/video/">视频</a></li></ul></nav>
<div class="breadcrumb"><a href="/">首页</a> &gt; <a href="/fortune/">财经</a> &gt; 正文</div></header>"""

FOOTER_HTML = """<aside class="related"><h3>相关新闻</h3><ul>
<li><a href="/a1.htm">前海合作区出台支持港澳青年创业新举措</a></li>
<li><a href="/a2.htm">深圳前三季度外贸进出口同比增长</a></li></ul></aside>
<footer><p>关于我们 | 联系我们 | 广告服务 | 网站地图</p>
<p>Copyright © 2000-2024 XINHUANET.com All Rights Reserved. 版权所有 新华网</p>
<p>京ICP证010042号</p></footer>"""

HTML_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head>
<meta charset="utf-8">
<title>深圳前海新增跨境金融服务试点-新华网</title>
<meta property="og:title" content="深圳前海新增跨境金融服务试点">
<meta property="og:site_name" content="新华网">
<meta property="og:url" content="https://www.news.cn/fortune/20241102/qianhai.htm">
<meta property="article:published_time" content="2024-11-02T09:30:00+08:00">
<meta name="keywords" content="前海,跨境金融,试点">
<script>window.dataLayer = window.dataLayer || []; function track(){}</script>
<style>body{font-family:sans-serif}.site-header{background:#c00}</style>
</head><body>
{nav}
<main><article>
<h1>深圳前海新增跨境金融服务试点</h1>
<div class="info">2024-11-02 09:30:00 来源：新华网</div>
<p>新华社深圳11月2日电（记者 王晓东）记者2日从深圳市地方金融管理局获悉，前海深港现代服务业合作区
新增跨境理财通、本外币合一银行结算账户等7项跨境金融服务试点，首批参与试点的银行共有15家。</p>
<p>据介绍，今年前三季度，前海累计办理跨境人民币结算业务金额达1.38万亿元，同比增长21.6%，
占深圳全市的比重超过三成。截至9月末，合作区已集聚港资企业1.2万家，注册资本超过1.6万亿元。</p>
<p>深圳市地方金融管理局有关负责人表示，下一步将继续推进深港金融市场互联互通，
力争到2025年底推出不少于20项跨境金融创新举措，为粤港澳大湾区建设提供更有力的金融支撑。</p>
<div class="editor">【责任编辑：陈静】</div>
</article></main>
{footer}
</body></html>
"""

GBK_PAGE = """<html><head>
<meta http-equiv="Content-Type" content="text/html; charset=gbk">
<meta charset="gbk">
<title>成都天府绿道总里程突破7000公里_四川新闻网</title>
<meta name="publishdate" content="2024-07-28">
</head><body>
<div id="nav"><a href="/">四川新闻网首页</a> | <a href="/sc/">四川</a> | <a href="/cd/">成都</a> | <a href="/ly/">旅游</a></div>
<div id="content">
<h1>成都天府绿道总里程突破7000公里</h1>
<p>来源：四川日报 2024-07-28</p>
<p>记者从成都市公园城市建设管理局获悉，截至今年6月底，成都天府绿道总里程已突破7000公里，
建成各级绿道驿站1126个，串联起锦江公园、环城生态公园等重要生态空间，年均服务市民游客超过1.5亿人次。</p>
<p>其中，环城生态公园一级绿道全长约100公里，沿线布局了“百个公园”和20余处农业景观。
成都市计划到2025年底，实现全市绿道总里程达到8000公里，让市民“推窗见绿、出门入园”。</p>
</div>
<div id="footer">四川新闻网版权所有 未经授权禁止转载 | 蜀ICP备05005312号</div>
</body></html>
"""

DOCX_TITLE = "西安城墙景区推出夜游新线路"
DOCX_PARAGRAPHS = [
    "西安日报讯（记者 赵婷）",
    "10月1日起，西安城墙景区推出“长安夜巡”夜游新线路，全长约4.2公里，自永宁门出发，"
    "途经含光门、朱雀门，至安定门结束，沿线设置灯光演艺点位18处。",
    "景区管理委员会介绍，国庆假期首日城墙景区共接待游客6.8万人次，其中夜间游客占比达到45%。"
    "新线路门票为每人88元，持西安市民卡可享受半价优惠。",
]


def make_html_pages() -> None:
    (HERE / "news.html").write_text(HTML_PAGE.replace("{nav}", NAV).replace("{footer}", FOOTER_HTML), encoding="utf-8")
    (HERE / "news_gbk.htm").write_bytes(GBK_PAGE.encode("gbk"))


def make_docx() -> None:
    import docx

    document = docx.Document()
    document.add_heading(DOCX_TITLE, level=0)  # the "Title" style; core_properties.title stays empty
    for paragraph in DOCX_PARAGRAPHS:
        document.add_paragraph(paragraph)
    document.save(str(HERE / "news.docx"))


def main() -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"))
        make_pdfs(browser)
        browser.close()
    make_html_pages()
    make_docx()
    for path in sorted(HERE.iterdir()):
        print(f"{path.name:20} {path.stat().st_size:>7} bytes")


if __name__ == "__main__":
    main()
