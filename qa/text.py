"""Text patterns shared by the pipeline: names, word normalisation and accent folding.

One place for what several stages need to agree on: the conversation resolver (qa/query.py),
answer types (qa/answer_type.py) and the training generator (qa/training/perturb.py) all find
names the same way, and "does this text contain that word" means the same everywhere.
"""

from __future__ import annotations

import re
import unicodedata

# Lower-case words allowed inside a name: "Mohammed bin Salman", "Ludwig van Beethoven".
CONNECTORS = frozenset({"of", "the", "de", "von", "van", "der", "da", "del", "la", "le", "bin", "al", "and"})
# Capitalised words that open questions and sentences without being names.
FUNCTION_WORDS = frozenset({
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "in", "on", "at", "the", "a", "an",
    "of", "to", "for", "by", "from", "did", "does", "do", "is", "are", "was", "were", "according", "after",
    "before", "during", "along", "besides", "other", "name", "as", "if", "i", "it", "its", "this", "that",
    "these", "those", "there", "and", "or", "but", "with", "can", "could", "would", "should", "will", "has",
    "have", "had", "tell", "me", "about", "also", "any", "some", "he", "she", "they", "his", "her", "their",
    "him", "them", "we", "you", "our", "your", "then", "so", "yes", "no", "not", "still", "however", "while",
    "once", "both", "speaking", "shortly", "despite", "since", "until", "although", "though", "mr", "mrs", "ms",
})
_RUN_RE = re.compile(r"[A-Z0-9][\w'’\-.]*(?:\s+(?:(?:of|the|de|von|van|der|da|del|la|le|bin|al|and)\s+)*[A-Z0-9][\w'’\-.]*)*")
_WORD_RE = re.compile(r"\w+")
# A capitalised word that opens a sentence but reads as a common word, not a name.
_COMMON_OPENER = re.compile(r"^(?:[A-Z][a-z]+(?:ing|ed|ly|man|men|ers?)|Yesterday|Today|Tomorrow|Earlier|Later|Meanwhile|Officials?|Police|Winner|Former)$")
_NORM_RE = re.compile(r"[^\w\s]")


def fold(text: str) -> str:
    """Lower case without accents: "Temür" and "Temur" compare equal, so do "Genève" and "Geneve"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def norm_words(text: str) -> str:
    """Lower case, punctuation as spaces, single spaces: for 'does this text hold that phrase'."""
    return " ".join(_NORM_RE.sub(" ", text.lower()).split())


# A word that ends a sentence rather than abbreviating ("Marathon.", "2019."; not "U.S.", "Mr.", "Gen.").
_SENTENCE_END = re.compile(r"(?:[A-Z][a-z]{2,}|\d+)\.(?=\s)")
_ABBREVIATIONS = frozenset("mrs gen col sgt rev gov sen rep ave corp inc ltd bros capt cmdr adm est dept univ".split())


def _pieces(text: str) -> list[re.Match]:
    """The capitalised runs of `text`, each cut after a word that ends a sentence: "the 2019
    Chicago Marathon. Countryman Lawrence Cherono won" holds two runs, not one."""
    out = []
    for m in _RUN_RE.finditer(text):
        start = m.start()
        for end in _SENTENCE_END.finditer(text, m.start(), m.end()):
            if text[end.start() : end.end() - 1].lower() not in _ABBREVIATIONS:
                out.append(_RUN_RE.match(text, start, end.end()))
                start = end.end()
                while start < m.end() and text[start].isspace():
                    start += 1
        if start < m.end():
            out.append(_RUN_RE.match(text, start, m.end()))
    return [x for x in out if x]


def name_runs(text: str, sentence_starts: bool = True) -> list[tuple[int, int, str]]:
    """(start, end, name) of each run of capitalised words, with connectors inside it
    ("Crown Prince Mohammed bin Salman", "Zappa and the Mothers of Invention").

    Leading function words are dropped ("Did Rubio" -> "Rubio"), trailing connectors too.
    With sentence_starts=False, a single capitalised word opening a sentence is not a name
    ("The" opens sentences; "Jay Z" is a name anywhere)."""
    out = []
    for m in _pieces(text):
        words = [(w.start(), w.end(), w.group(0)) for w in re.finditer(r"\S+", m.group(0))]
        while words and words[0][2].lower().strip(".'’") in FUNCTION_WORDS:
            words = words[1:]
        while words and (words[-1][2].lower() in CONNECTORS or words[-1][2].lower().strip(".'’") in FUNCTION_WORDS):
            words = words[:-1]
        if not words or not re.search(r"[A-Za-z]", words[0][2]) or not words[0][2][0].isupper():
            continue
        start = m.start() + words[0][0]
        opens: object = start == 0 or re.search(r"(?:[.!?]\s+|\n\s*)[\"'“‘(]?$", text[max(0, start - 4) : start])
        if opens and len(words) > 1 and _COMMON_OPENER.search(words[0][2]):
            words = words[1:]  # "Leading Moscow's …", "Countryman Lawrence Cherono"
            start, opens = m.start() + words[0][0], False
        end = m.start() + words[-1][1]
        name = " ".join(text[start:end].split()).rstrip(".,;:'’")
        if opens and not sentence_starts and " " not in name:
            continue
        out.append((start, start + len(name), name))
    return out


PARTICLES = frozenset({"de", "von", "van", "der", "da", "del", "la", "le", "bin", "al", "ibn"})
# Words that make a capitalised run a place, an organisation or an event rather than a person.
NOT_PERSON = frozenset("""
east west north south middle central united states kingdom republic union council ministry palace university party
army navy bank court house street road city county province state sea ocean river lake mountains islands island gulf
cup league association organization organisation company inc ltd corp group festival olympics games prize award
airport station hospital school college institute museum church cathedral square bridge park forces police agency
department committee commission fund times post news press guardian tribune herald journal club stadium airlines
government parliament senate congress assembly office service services fc war world summit conference treaty act
arabia zealand lanka kong korea africa rica rico emirates york angeles francisco vegas aires janeiro delhi lumpur
""".split())


ROLES = frozenset("""
president prime minister foreign secretary state crown prince princess king queen general senator governor chancellor
mayor judge justice pope sheikh sir dr professor chief deputy vice national security adviser advisor envoy spokesperson
spokesman spokeswoman director chairman chairwoman ceo coach captain commander lord lady representative ambassador
us u.s. uk eu un russian american british ukrainian saudi turkish french german chinese israeli iranian kenyan
""".split())


def strip_roles(name: str) -> str:
    """A name without the titles and roles written before it: "Russian Foreign Minister Sergei
    Lavrov" -> "Sergei Lavrov" (two words at least are kept)."""
    words = name.split()
    while len(words) > 2 and words[0].lower().strip(".,") in ROLES:
        words = words[1:]
    return " ".join(words)


def is_person_like(name: str) -> bool:
    """Two to five capitalised words, particles allowed ("Mohammed bin Salman"), with no digits
    and no word of a place or an organisation: "Yuri Ushakov", not "Middle East", not
    "World Cup 2022", not "Zappa and the Mothers of Invention"."""
    words = name.replace("’s", "").replace("'s", "").split()
    if not 2 <= len(words) <= 5 or any(ch.isdigit() for ch in name):
        return False
    if any(w.lower().strip(".,") in NOT_PERSON for w in words):
        return False
    capitalised = [w for w in words if w[0].isupper()]
    return len(capitalised) >= 2 and all(w[0].isupper() or w in PARTICLES for w in words)


def words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower())


_INITIALS_SKIP = frozenset({"of", "the", "and", "for", "de", "la", "le", "du", "des", "del", "on", "in", "to", "at", "&"})
_POSSESSIVE = re.compile(r"(?:'s|’s|'|’)$")


def acronym(name: str) -> str | None:
    """The initials of a name of two words or more: "International Atomic Energy Agency" ->
    "IAEA", "United States" -> "US"; None for one word or an uncapitalised word."""
    parts = [w for w in re.findall(r"[^\W\d_][\w\-]*", name) if w.lower() not in _INITIALS_SKIP]
    if len(parts) < 2 or not all(w[0].isupper() for w in parts):
        return None
    return "".join(w[0] for w in parts)


def _has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", text) is not None


def _same_person(holder: str, full: str, surname: str) -> bool:
    """Does a run of the passage that holds `surname` name the person `full`? Only when every
    word before the surname is a role ("US President Trump") or one of full's own names."""
    words = holder.split()
    if surname not in words:
        return False
    given = set(full.split()[:-1])
    return all(w in given or w.lower().strip(".,") in ROLES for w in words[: words.index(surname)])


def in_passage_words(question: str, passage: str) -> str:
    """The question with each name it uses written as the passage writes it, when the passage
    uses another form of the same name: "When was the International Atomic Energy Agency
    founded?" read beside "The IAEA, established in 1957, …" becomes "When was the IAEA
    founded?", and the other way round; "Brigid Kosgei" becomes "Kosgei" beside a passage that
    calls her only that. The reader was taught with twins that swap a name for another (a
    name missing from the passage means "does not answer"), so it reads a name it cannot
    match as a different entity: asked with the long form it gave "The IAEA, … established
    in 1957" 0.01, with the short form 0.97. A name the passage already uses, or has no form
    of, stays as it is; a surname that someone else in the passage shares ("Melania Trump"
    beside "Donald Trump") is never taken as the same person."""
    folded = fold(passage)
    runs: list[str] | None = None
    out, last = [], 0
    for start, _, name in name_runs(question, sentence_starts=False):
        suffix = _POSSESSIVE.search(name)
        bare = name[: suffix.start()] if suffix else name
        if not bare or _has_word(folded, fold(bare)):
            continue
        if runs is None:
            runs = [r for _, _, r in name_runs(passage)]
        form, initials, compact = None, acronym(bare), bare.replace(".", "")
        if initials and _has_word(passage, initials):
            form = initials
        elif compact.isupper() and 2 <= len(compact) <= 6:
            form = next((strip_roles(r) for r in runs if acronym(r) == compact), None)
        elif is_person_like(bare):
            surname = bare.split()[-1]
            holders = [r for r in runs if _has_word(r, surname)]
            if holders and all(_same_person(r, bare, surname) for r in holders):
                form = surname
        if form:
            end = start + len(bare)
            if compact != bare and question[end : end + 1] == ".":  # "U.S." is found as "U.S"
                end += 1
            out.append(question[last:start] + form)
            last = end
    return "".join(out) + question[last:] if out else question


_GENDERED = re.compile(r"\b(he|his|she|her)\b", re.IGNORECASE)


def pronoun_gender(name: str, texts: list[str]) -> str | None:
    """"m" or "f" when the texts refer back to `name` as he or she, else None.

    A text counts where the person (the last word of `name`) is a clause's subject: only
    capitalised words before it since the clause began ("In setting the record, Kosgei
    finished"; not "in May he was sentenced", "announced Kamala Harris as his choice",
    "Johnson's mother … she"). It counts the first he/his/she/her after the name, if no other
    capitalised word comes between ("… ahead of her competition"), else, when none follows
    the name at all, the next text's first word if it is one ("He was followed by …"). One
    side must outnumber the other twice over. The collection's own usage decides, so no list
    of first names is needed."""
    last = name.split()[-1] if name.split() else ""
    key = re.compile(rf"(?:^|[,;:(]\s*)((?:[A-Z][\w'’.-]*\s+|(?:{'|'.join(CONNECTORS)})\s+)*){re.escape(last)}\b(?!\s*\d|['’]s|\s+(?:he|his|she|her)\b)")
    counts = {"m": 0, "f": 0}
    for i, text in enumerate(texts):
        hit = key.search(text) if last and last in text else None
        if hit is None:
            continue
        rest = text[hit.end():]
        named = re.search(r"\b[A-Z][a-z]", rest)
        after = _GENDERED.search(rest[: named.start()] if named else rest)
        if after is None and named is None and i + 1 < len(texts):
            after = _GENDERED.match(texts[i + 1])
        if after:
            counts["f" if after.group(1).lower().startswith(("she", "her")) else "m"] += 1
    if counts["m"] > 2 * counts["f"]:
        return "m"
    return "f" if counts["f"] > 2 * counts["m"] else None
