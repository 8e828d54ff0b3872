"""Choose the articles of the labeled news set (issue 21) and deal them out to writers.

Reads ../shared/data/news/crud_news_10k.jsonl.gz, leaves out short texts, near copies and the
30 articles of tests/data/natural/news.jsonl, guesses each article's topic from keywords (only to
spread the sample; writers correct the topic), and draws the same number from every topic with a
fixed seed. Writes one batch file per writer: {"article", "text_sha1", "topic_guess", "date", "text"}.

    python scripts/news_qa/select_articles.py --per-topic 90 --batches 8 --out /tmp/news_qa/batches
    # the second round: articles not yet labeled (nor near copies of them), batches 9-12
    python scripts/news_qa/select_articles.py --per-topic 25 --batches 4 --first-batch 9 --seed 2212 \
        --max-chars 2500 --exclude data/news_qa/train.jsonl --exclude data/news_qa/dev.jsonl \
        --exclude /work/news_qa_work/batches --out /work/news_qa_work2/batches
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NEWS = ROOT.parent / "shared" / "data" / "news" / "crud_news_10k.jsonl.gz"

TOPICS = {
    "economy": "经济 GDP 同比 增长 企业 公司 营收 营业收入 净利润 股份 上市 投资 市场 消费 销售 亿元 出口 进口 贸易 银行 金融 股票 A股 基金 产业 零售 价格 房地产 楼市".split(),
    "technology": "科技 技术 芯片 人工智能 AI 手机 互联网 软件 数据 算法 5G 研发 创新 卫星 航天 新能源汽车 电池 智能 华为 苹果 iPhone 发布会 处理器".split(),
    "sports": "比赛 冠军 决赛 球队 赛季 世界杯 大运会 运动员 金牌 进球 联赛 NBA 中超 奥运 足球 篮球 排球 网球 锦标赛 比分 教练".split(),
    "politics": "政策 国务院 部署 会议 中央 发展改革委 部门 印发 通知 意见 改革 习近平 党委 书记 人大 政协 外交部 法规 条例 监管".split(),
    "local": "市民 社区 街道 村民 居民 城管 派出所 警方 民警 消防 暴雨 台风 防汛 交通 地铁 公交 学校 学生 游客 景区 老人 救援 事故".split(),
    "international": "美国 日本 俄罗斯 乌克兰 欧盟 英国 法国 德国 印度 韩国 朝鲜 联合国 总统 总理 外长 北约 以色列 巴西 非洲 国际 海外 境外".split(),
    "health": "医院 医生 患者 疾病 健康 医疗 药品 疫苗 病毒 感染 治疗 手术 医保 疫情 症状 卫生 心理 中医".split(),
    "culture": "文化 电影 演出 音乐 博物馆 展览 文物 非遗 艺术 票房 演员 导演 图书 书法 戏曲 综艺 旅游 文旅 考古 歌手".split(),
}


def topic_guess(text: str) -> str:
    scores = {topic: sum(text.count(word) for word in words) for topic, words in TOPICS.items()}
    return max(scores, key=scores.get)


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-topic", type=int, default=90)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--min-chars", type=int, default=350)
    parser.add_argument("--max-chars", type=int, default=0, help="leave out longer texts (0: no limit)")
    parser.add_argument("--exclude", type=Path, action="append", default=[],
                        help="a label file or a folder of batches whose articles are taken already")
    parser.add_argument("--first-batch", type=int, default=1)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    natural = {json.loads(line)["text"][:60] for line in (ROOT / "tests/data/natural/news.jsonl").open(encoding="utf-8")}
    taken = {json.loads(line)["article"] for path in args.exclude
             for file in (sorted(path.glob("*.jsonl")) if path.is_dir() else [path])
             for line in file.open(encoding="utf-8") if line.strip()}
    with gzip.open(NEWS, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    seen_openings = {rows[number]["text"][20:80] for number in taken}  # and near copies of them
    by_topic: dict[str, list[dict]] = {topic: [] for topic in TOPICS}
    for number, row in enumerate(rows):
        text = row["text"]
        too_long = args.max_chars and len(text) > args.max_chars
        if number in taken or len(text) < args.min_chars or too_long or text[:60] in natural \
                or text[20:80] in seen_openings:
            continue
        seen_openings.add(text[20:80])
        topic = topic_guess(text)
        by_topic[topic].append({"article": number, "text_sha1": sha1(text), "topic_guess": topic,
                                "date": row.get("date", ""), "text": text})
    rng = random.Random(args.seed)
    chosen: list[dict] = []
    for topic, candidates in by_topic.items():
        print(f"{topic}: {len(candidates)} candidates")
        chosen += rng.sample(candidates, min(args.per_topic, len(candidates)))
    rng.shuffle(chosen)
    args.out.mkdir(parents=True, exist_ok=True)
    for batch in range(args.batches):
        part = sorted(chosen[batch::args.batches], key=lambda row: row["article"])
        name = f"batch{args.first_batch + batch}"
        with (args.out / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for row in part:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{name}: {len(part)} articles")


if __name__ == "__main__":
    main()
