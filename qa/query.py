"""Follow-up questions made standalone from the conversation: what was asked and what was answered.

No language model runs offline, so the resolution is rule-based and predictable, and the
reply shows its result ("Understood as: …") so the user can see and correct it. Each earlier
turn is its question, the sentences its reply cited and the titles of their articles
(`Turn`). Entities are capitalised name runs (qa/text.py), taken most recent first: the
last question's, then the last answer's, then earlier turns'. In order:

1. Ellipsis: "what about Lavrov?", "and in 2019?" take the previous question and put the new
   name, year or phrase where one of the same kind was ("What did Rubio say?" -> "What did
   Lavrov say?"); with none to replace, they add to it.
2. Pronouns: "he/she/him/his/her" -> a person (two or more capitalised words, or a surname
   the conversation gives in full or has speak: "Zelenskyy said …") named in the last
   question, else the conversation's topic when it is a person's name, else the first
   person named in the last answer, else earlier turns, skipping one the articles refer back
   to the other way ("his" after a reply naming Brigid Kosgei, then Lawrence Cherono, is
   Cherono's: `Index.gender`, from the collection's own he/she); "they/them/their" -> the people the
   last answer names (all of them: "Who attended?" then "What did they agree on?"), else a
   group or the topic; "it/its" -> the last question's other entity, else the topic.
   Possessives keep their 's. Only the first pronoun of a kind is replaced ("How old was
   Dalí's brother when he died?"), and none of a person's after a person the question names
   ("What did Bachmann do after her summer in Israel?" stays as it is).
3. "there" -> "in <the place last named after in/at/to/from>"; "then" -> "in <the last year
   or date named>".
4. A part of the conversation's subject's name stands for all of it ("Seaver" -> "Tom Seaver"
   when the short-titled article is Tom Seaver).
5. A question that names nothing of its own, after a conversation about a short-titled
   article ("Frank Zappa"), gets that title added: "What happened in 1983?" -> "What happened
   in 1983 (Anna Vissi)?". With a longer title, retrieval alone reads it (`retrieval_query`).

Measured against people's rewrites of CANARD's 3,430 dev follow-ups (qa eval --benchmark
canard): eval/reports/canard.md.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from qa.errors import QAError
from qa.settings import Settings
from qa.text import FUNCTION_WORDS, is_person_like, name_runs, strip_roles

MAX_JOINED = 5  # people named for one "they"
_YEAR_OR_DATE = re.compile(
    r"\b(?:(?:January|February|March|April|May|June|July|August|September|October|November|December)\s+\d{1,2}(?:,\s*\d{4})?"
    r"|\d{1,2}\s+(?:January|February|March|April|May|June|July|August|September|October|November|December)(?:\s+\d{4})?"
    r"|(?:1[0-9]|20)\d{2}s?)\b"
)
# A place after in/at/to…; a capitalised run that only qualifies a place noun keeps it ("in the
# Saudi capital", not "in the Saudi").
_PLACE = re.compile(
    r"\b(?:in|at|to|from|near|inside|outside)\s+((?:the\s+)?[A-Z][\w'’\-]*(?:\s+(?:of\s+)?[A-Z][\w'’\-]*)*"
    r"(?:\s+(?:capital|city|coast|region|province|state|island|islands|border|port|town|village|county|district|peninsula|sea|desert))?)"
)
# The deed a question asked about, for "do it" later: "Who performed the first spacewalk?" ->
# "performed the first spacewalk".
_DEED = re.compile(r"^\s*(?:who|what|which\s+\w+)\s+(?!(?:is|are|was|were|did|does|do|has|have|had|will|would|can|could)\b)([a-z]\w*\b.*?)\s*\?*\s*$", re.IGNORECASE)
# Capitalised, but a time, never what "it" refers to.
_TIME_NAMES = frozenset("monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
                        "august september october november december".split())
# What a person named by one word does in a reply ("Zelenskyy said …", "said Waltz").
_PERSON_ACTS = r"said|says|told|added|wrote|announced|argued|insisted|warned|claimed|replied|noted|stated|thinks|believes"
_PRONOUN = re.compile(r"\b(he|she|him|his|her|hers|they|them|their|theirs|it|its)\b", re.IGNORECASE)
_ELLIPSIS = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+(.+?)\s*[?.!]*\s*$|^\s*and\s+(.+?)\s*[?.!]*\s*$", re.IGNORECASE)
_EXPLETIVE_IT = re.compile(r"\bit\s+(?:is|was)?\s*(?:true|possible|likely|clear|known|said|reported|important|hard|easy)\b|\bit\s+(?:take|took|takes)\b", re.IGNORECASE)
_WHO_IS = re.compile(r"^\s*who\s+(?:is|was)\s+", re.IGNORECASE)
_DO_IT = re.compile(r"\b(?:do|does|did|done|doing)\s+it$", re.IGNORECASE)
_EXISTENTIAL_THERE = re.compile(r"\bthere\s+(?:is|are|was|were|be|been|has|have|had|will|would|any|a|an)\b|\b(?:is|are|was|were)\s+there\b", re.IGNORECASE)


def check_question(question: object, settings: Settings, what: str = "the question") -> str:
    """The question, stripped; a QAError says what is wrong with an unusable one (`what`
    names it: "the question", or "history item 2")."""
    if not isinstance(question, str):
        raise QAError("the question is empty; type a question about the articles")
    # Lone surrogates cannot be tokenized; control characters carry no meaning here.
    question = question.encode("utf-8", "replace").decode("utf-8").strip()
    if len(question) > settings.max_question_chars:
        raise QAError(
            f"{what} is {len(question):,} characters long; the limit is "
            f"{settings.max_question_chars:,}: {'ask a shorter question' if what == 'the question' else 'send a shorter one'}"
        )
    question = "".join(ch if ch.isprintable() or ch in " \t\n" else " " for ch in question).strip()
    if not question:
        raise QAError("the question is empty; type a question about the articles")
    return question


@dataclass(frozen=True)
class Turn:
    """One earlier turn: what was asked, the sentences the reply quoted, their articles' titles."""

    question: str
    answer: str = ""
    titles: tuple[str, ...] = ()
    short: str = ""  # the reply's short answer, when it gave one ("Brigid Kosgei", "1957")


def turns_from(history: list | tuple) -> list[Turn]:
    """Turns from the API's or the CLI's history: plain questions (the older format), or
    {"question", "answer"} / {"question", "citations": [{"text", "title"}, …]} objects."""
    out = []
    for h in history:
        if isinstance(h, Turn):
            out.append(h)
        elif isinstance(h, str):
            if h.strip():
                out.append(Turn(h.strip()))
        elif isinstance(h, dict) and isinstance(h.get("question"), str) and h["question"].strip():
            cites = [c for c in h.get("citations") or [] if isinstance(c, dict)]
            answer = h.get("answer") if isinstance(h.get("answer"), str) else " ".join(str(c.get("text", "")) for c in cites)
            titles = tuple(str(c["title"]) for c in cites if isinstance(c.get("title"), str) and c["title"])
            short = h.get("short_answer") if isinstance(h.get("short_answer"), str) else ""
            out.append(Turn(h["question"].strip(), answer or "", titles, short or ""))
    return out


def _entities(text: str) -> list[str]:
    """Named runs in order; a run "X of Y" also gives X ("Ruth Chepngetich of Kenya")."""
    seen: list[str] = []
    for _, _, name in name_runs(text, sentence_starts=False):
        bare = strip_roles(name)
        bare = bare if bare[:1].isupper() else name
        for candidate in (bare, bare.split(" of ")[0]):
            if candidate and candidate not in seen and candidate.lower() not in FUNCTION_WORDS:
                seen.append(candidate)
    return seen


def _topic(turns: list[Turn]) -> str | None:
    """The conversation's article when it has a short title (a name, a Wikipedia-style title)."""
    for turn in reversed(turns):
        if turn.titles:
            title = re.sub(r"\s*\([^)]*\)|['’]s$", "", Counter(turn.titles).most_common(1)[0][0]).strip()
            return title if 0 < len(title.split()) <= 5 else None
    return None


def _short_name(short: str) -> str:
    """The name a short answer gives ("Dmitriev" of "Dmitriev, the 49-year-old head of …", "Brigid
    Kosgei" of "Brigid Kosgei of Kenya"), or ""."""
    head = re.split(r"[,;(]", short, maxsplit=1)[0].strip()
    if not head[:1].isupper() or _YEAR_OR_DATE.search(head) or len(head.split()) > 5:
        return ""
    person, of, _ = head.partition(" of ")
    return person if of and is_person_like(person) else head  # "Brigid Kosgei of Kenya" -> "Brigid Kosgei"


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class _Context:
    def __init__(self, turns: list[Turn], gender: Callable[[str], str | None] | None = None) -> None:
        self.turns = turns
        self._gender = gender
        self.topic = _topic(turns)
        last = turns[-1]
        self.last_q, self.last_a = _entities(last.question), _entities(last.answer)
        self.earlier = [e for t in reversed(turns[:-1]) for e in _entities(t.question) + _entities(t.answer)]
        # The earlier reply's short answer, when it is a name, is what "he", "she", "it" point to
        # first; the names earlier replies gave ("Dmitriev") are the last resort for "he".
        self.short = _short_name(last.short)
        self.shorts = [n for t in reversed(turns) if (n := _short_name(t.short))]
        if _WHO_IS.match(last.question) and any(is_person_like(e) or self.surname(e) for e in self.last_q):
            # "Who is Yuri Ushakov?" asks what he is: the reply describes him, so a name its short
            # answer gives is someone else (a misread span, "Sergei Lavrov"), not whom "he" means next.
            self.short = ""

    def surname(self, word: str) -> str | None:
        """A one-word name of the last question as a person: the conversation's full name ending
        in it ("Zelenskyy" -> "Volodymyr Zelenskyy"), else the word itself when the last reply has
        it do what people do ("Zelenskyy said he was not prepared …"), else None."""
        if " " in word or word.lower() in FUNCTION_WORDS:
            return None
        full = next((e for e in self.last_a + self.earlier if is_person_like(e) and e.split()[-1] == word), None)
        if full:
            return full
        acts = re.search(rf"\b{re.escape(word)}(?:['’]s)?\s+(?:{_PERSON_ACTS})\b|\b(?:{_PERSON_ACTS})\s+{re.escape(word)}\b", self.turns[-1].answer)
        return word if acts else None

    def gender(self, name: str) -> str | None:
        """How the articles refer back to `name`: "m", "f" or None. Not the conversation's own
        answers: too few mentions (on CANARD dev that changed 6 rewrites, 4 of them for the worse)."""
        return self._gender(name) if self._gender else None

    def person(self, gender: str | None = None) -> str | None:
        """Whom "he" (gender "m") or "she" ("f") means: the first candidate, in the order of the
        module's docstring, not known to be referred to the other way; else the first."""
        topic = [self.topic] if self.topic and " and " not in self.topic else []
        short = [self.short] if self.short else []
        named = [p for e in self.last_q if (p := e if is_person_like(e) else self.surname(e))]
        candidates = [e for group, test in ((short, bool), (named, bool), (topic, bool), (self.last_a, is_person_like),
                                            (self.earlier, is_person_like), (self.shorts, bool)) for e in group if e and test(e)]
        fits = (e for e in candidates if gender is None or self.gender(e) in (None, gender))  # lazily: each verdict reads the index once
        return next(fits, candidates[0] if candidates else None)

    def people(self) -> str | None:
        if self.topic and not is_person_like(self.topic):
            return self.topic  # a band, a team, a country: the conversation's subject
        persons = [e for e in self.last_a if is_person_like(e)]
        if len(persons) >= 2:
            return _join(persons[:MAX_JOINED])
        group = next((e for e in self.last_a + self.last_q if " and " in e or (e.endswith("s") and not is_person_like(e))), None)
        return group or self.topic or next(iter(self.last_q + self.last_a + self.earlier), None)

    def thing(self) -> str | None:
        if self.short and not is_person_like(self.short):
            return self.short
        found = next((e for e in self.last_q if not is_person_like(e) and not self.surname(e)), None)
        if found:
            return found
        if self.topic and not is_person_like(self.topic):
            return self.topic
        return next((e for e in self.last_a if not is_person_like(e) and e.lower() not in _TIME_NAMES), None)

    def place(self) -> str | None:
        for text in (self.turns[-1].question, self.turns[-1].answer, *[t.answer for t in reversed(self.turns[:-1])]):
            m = _PLACE.search(text)
            if m:
                return m.group(1)
        return None

    def when(self) -> str | None:
        for text in (self.turns[-1].answer, self.turns[-1].question):
            m = _YEAR_OR_DATE.search(text)
            if m:
                return m.group(0)
        return None


def _possessive_her(question: str, end: int) -> bool:
    """ "her" before a noun is possessive ("her time"); before nothing, a preposition or a verb it is not."""
    m = re.match(r"\s+([A-Za-z'’-]+)", question[end:])
    if m is None:
        return False
    return m.group(1).lower() not in FUNCTION_WORDS and not m.group(1).endswith("ly")


def _swap(previous: str, new: str) -> str:
    """The previous question with `new` where a name, year or number of the same kind was."""
    new = new.strip()
    if _YEAR_OR_DATE.fullmatch(re.sub(r"^(?:in|on|during)\s+", "", new, flags=re.I)):
        year = re.sub(r"^(?:in|on|during)\s+", "", new, flags=re.I)
        if _YEAR_OR_DATE.search(previous):
            return _YEAR_OR_DATE.sub(year, previous, count=1)
        return previous.rstrip(" ?") + f" in {year}?"
    names = _entities(previous)
    if names:
        target = next((n for n in names if is_person_like(n) == is_person_like(new)), names[0])
        return previous.replace(target, new, 1)
    return previous.rstrip(" ?") + f", {new}?"


def _pronoun_kind(word: str) -> str:
    """ "person" (he, she …), "people" (they, them, their, theirs) or "thing" (it, its)."""
    return "person" if word in ("he", "she", "him", "his", "her", "hers") else "people" if word.startswith(("they", "the")) else "thing"


def resolve(question: str, history: list | tuple = (), gender: Callable[[str], str | None] | None = None) -> str:
    """The query to retrieve with: `question`, made standalone from the conversation.

    Args:
        question: the user's question.
        history: earlier turns, oldest first (`Turn`s, plain questions or API objects).
        gender: how the articles refer back to a name ("m", "f", None: `Index.gender`), so
            that "his" is not a woman the articles call "she".
    Returns:
        The question with its references resolved; unchanged when it stands alone.
    """
    turns = turns_from(history)
    if not turns:
        return question
    ctx = _Context(turns, gender)
    m = _ELLIPSIS.match(question)
    if m and not _PRONOUN.search(question):
        return _swap(turns[-1].question, m.group(1) or m.group(2))
    out, changed = question, False
    # Each pronoun's referent, left to right; "it" never names whom "he" already names, and
    # "do it" is an action, not a thing ("On what date did he do it?").
    # A person's pronoun after a person the question names is that person's ("What did Lavrov
    # say after he met Rubio?"), and once a pronoun is resolved the next of its kind is left as
    # it is ("How old was Dalí's brother when he died?").
    found: list[tuple[re.Match, str]] = []
    for pm in _PRONOUN.finditer(question):
        word = pm.group(1).lower()
        if word in ("it", "its") and (_EXPLETIVE_IT.search(question[pm.start():]) or _DO_IT.search(question[: pm.end()])):
            continue
        kind = _pronoun_kind(word)
        if kind == "person" and any(is_person_like(e) or ctx.surname(e) for e in _entities(question[: pm.start()])):
            continue
        if kind != "thing" and any(_pronoun_kind(f.group(1).lower()) == kind for f, _ in found):
            continue
        ref = ctx.person("f" if word.startswith(("she", "her")) else "m") if kind == "person" else ctx.people() if kind == "people" else ctx.thing()
        if ref and not (word in ("it", "its") and any(ref == r for _, r in found)):
            found.append((pm, ref))
    for pm, ref in reversed(found):
        word = pm.group(1).lower()
        possessive = word in ("his", "its", "their", "theirs", "hers") or (word == "her" and _possessive_her(question, pm.end()))
        out = out[: pm.start()] + (f"{ref}'s" if possessive else ref) + out[pm.end():]
        changed = True
    there = re.search(r"\bthere\b", out, re.IGNORECASE)
    if there and not _EXISTENTIAL_THERE.search(out) and (place := ctx.place()):
        out, changed = out[: there.start()] + f"in {place}" + out[there.end():], True
    then = re.search(r"\b(?:then|at that time|that year)\b", out, re.IGNORECASE)
    if then and (when := ctx.when()):
        out, changed = out[: then.start()] + f"in {when}" + out[then.end():], True
    if ctx.topic and is_person_like(ctx.topic) and ctx.topic not in out:
        # A part of the subject's name stands for all of it: "Who was Seaver compared to?" in a
        # conversation about Tom Seaver -> "Who was Tom Seaver compared to?".
        parts = [w for w in ctx.topic.split() if len(w) > 2 and w[:1].isupper()]
        for part in parts[-1:] + parts[:1]:
            m = re.search(rf"\b{re.escape(part)}\b(?!\s+[A-Z])", out)
            own = re.search(rf"\b{re.escape(part)}\b", question)  # the user's word, not a referent put in above
            if m and own and not re.search(rf"[A-Z][\w'’-]*\s+{re.escape(part)}\b", out):
                out, changed = out[: m.start()] + ctx.topic + out[m.end():], True
                break
    if not changed and ctx.topic and not _entities(question) and ctx.topic.lower() not in question.lower():
        out = question.rstrip(" ?") + f" ({ctx.topic})?"
    return out


_ANAPHORA_RE = re.compile(r"\b(he|she|him|his|her|hers|they|them|their|it|its|this|that|these|those|there|then)\b", re.IGNORECASE)


def needs_context(question: str) -> bool:
    """True when a question leans on the conversation: a reference word, or under two words of its own."""
    own = [w for w in re.findall(r"[A-Za-z0-9]{3,}", question) if w.lower() not in FUNCTION_WORDS]
    return bool(_ANAPHORA_RE.search(question)) or len(own) < 2


def retrieval_query(question: str, understood: str, history: list | tuple) -> str:
    """What retrieval reads: the understood question, plus what the previous question asked
    about when the question says "do it", plus the previous question's words when
    the question leaned on the conversation and nothing in it could be resolved, or the title
    of the article the last reply quoted first when the question names nothing of its own
    ("Who came second and third in the women's race?" after the Chicago Marathon): a
    conversation stays on its article unless the question names something else."""
    turns = turns_from(history)
    if turns and _DO_IT.search(question.rstrip(" ?.!")) and (deed := _DEED.match(turns[-1].question)):
        return f"{understood} {deed.group(1)}"  # "On what date did Leonov do it?" + "performed the first spacewalk"
    if turns and understood == question and needs_context(question):
        return f"{understood} {turns[-1].question}"
    if turns and understood == question and turns[-1].titles and not _entities(question):
        return f"{understood} {turns[-1].titles[0]}"
    return understood



def reader_query(understood: str, search_text: str, history: list | tuple) -> str:
    """What the reader reads: the search text, less the title `retrieval_query` added. The
    reader already reads every sentence under its article's title; with the title in the
    question too it favoured the sentences that restate the title ("Who came second and third
    in the women's race?" quoted "… 81 seconds faster than Paula Radcliffe's mark" over
    "Second and third place went to …")."""
    turns = turns_from(history)
    if turns and turns[-1].titles and search_text == f"{understood} {turns[-1].titles[0]}":
        return understood
    return search_text

def suggest_questions(sentences: list, n: int = 3) -> list[str]:
    """Example questions about the people the articles mention most.

    A person is a run of two or three capitalised words whose last word (the surname) is
    also used on its own, as news writing does after a first mention; the most mentioned
    come first. Works on any corpus; nothing here knows the seed article.
    """
    full: dict[str, str] = {}
    surname_count: Counter[str] = Counter()
    for s in sentences:
        for _, _, name in name_runs(s.text, sentence_starts=False):
            if is_person_like(name) and len(name.split()) <= 3:
                full.setdefault(name.split()[-1], name)
        for word in re.findall(r"\b[A-Z][a-z]+\b", s.text):
            surname_count[word] += 1
    people = sorted(full, key=lambda sur: -surname_count[sur])
    people = [p for p in people if surname_count[p] >= 2]
    out = []
    for i, surname in enumerate(people[:n]):
        out.append(f"What did {surname} say?" if i == 1 else f"Who is {full[surname]}?")
    return out
