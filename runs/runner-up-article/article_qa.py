"""qa's CLI with a runner-up sentence from another article quoted only when its own margin reaches
the refusal threshold (experiment); runner-ups from the best span's article as before."""
import sys
sys.path.insert(0, "/work/main")
from qa.answer import span_answer as S
from qa.answer import engine as E
orig = S.read_answer
def read_answer(question, spans, hits, thresholds):
    if spans:
        best = hits[spans[0].passage].chunk.article_id
        spans = spans[:1] + [s for s in spans[1:] if hits[s.passage].chunk.article_id == best
                             or s.margin >= thresholds.refuse_below]
    return orig(question, spans, hits, thresholds)
E.read_answer = read_answer
from qa.cli import main
sys.exit(main())
