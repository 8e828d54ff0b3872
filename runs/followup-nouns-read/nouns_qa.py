"""qa's CLI with a follow-up that finds its article alone and stands alone read after the earlier
question's nouns too (experiment)."""
import sys
sys.path.insert(0, "/work/main")
from qa.answer import engine as E
from qa.search import followup as F
def in_conversation(question, history, finds_alone):
    if not history or finds_alone(question):
        read = F.resolve_followup(question, history)
        if history and read == question:
            return read, F.with_nouns_of(history[-1], question)
        return read, read
    return F.after_earlier(question, history), F.with_nouns_of(history[-1], question)
E.in_conversation = in_conversation
from qa.cli import main
sys.exit(main())
