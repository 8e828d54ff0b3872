"""qa's CLI with the runner-up sentence quoted only when its own margin reaches QA_RUNNER_FLOOR (experiment)."""
import os, sys
sys.path.insert(0, "/work/main")
from dataclasses import replace
from qa.answer import span_answer as S
from qa.answer import engine as E
FLOOR = os.environ["QA_RUNNER_FLOOR"]
orig = S.read_answer
def read_answer(question, spans, hits, thresholds):
    floor = thresholds.refuse_below if FLOOR == "refuse" else float(FLOOR)
    if spans:
        spans = spans[:1] + [s for s in spans[1:] if s.margin >= floor]
    return orig(question, spans, hits, thresholds)
E.read_answer = read_answer
from qa.cli import main
sys.exit(main())
