"""Field references rewritten in formula text (titles ⇄ ids, bases/formula/lexer.py): any title,
escapes included, survives the round trip, and the rest of the text is left as typed."""

from hypothesis import given, settings
from hypothesis import strategies as st

from bases.formula.lexer import field_ref, field_refs, rewrite_refs, tokenize

_titles = st.text(min_size=1, max_size=12).filter(lambda t: t.strip())


@settings(max_examples=200, deadline=None)
@given(st.lists(_titles, min_size=1, max_size=5, unique=True))
def test_titles_to_ids_and_back_is_the_same_text(titles):
    text = ' & "}{" & '.join(field_ref(t) for t in titles) + " & 'x\\'y'"
    ids = {t: f"c{i}" for i, t in enumerate(titles)}
    back = {v: k for k, v in ids.items()}
    stored = rewrite_refs(text, ids.get)
    assert [name for _, _, name in field_refs(stored)] == [ids[t] for t in titles]
    assert rewrite_refs(stored, back.get) == text
    assert [t.text for t in tokenize(text) if t.kind == "FIELD"] == titles


def test_unknown_names_and_broken_text_are_left_alone():
    assert rewrite_refs("{a} + {b}", {"a": "c1"}.get) == "{c1} + {b}"
    assert rewrite_refs("{a} + ", {"a": "c1"}.get) == "{c1} + "
    assert rewrite_refs('{a} & "unclosed', {"a": "c1"}.get) == '{a} & "unclosed'
    assert rewrite_refs("{a}", {"a": "x}y\\"}.get) == "{x\\}y\\\\}"
