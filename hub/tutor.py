"""The chat tutor's grounding: retrieve the sections of the explainer texts that answer a question.

Texts are Markdown files (`<lang>/<topic>.md`: a `#` title, `##` sections). Retrieval is BM25 over
sections in the question's language, on Snowball stems ("transparent" finds "transparency", "dilatadas"
finds "dilatada") with a small bilingual synonym table (a learner asks about an "autoencoder" where the
Spanish notes say "autocodificador"). A section that corrects a mistake of the course notes comes first
when it answers the question, so a question that rests on the mistake meets the correction. With a chat
model, the passages go into the system prompt and the model is told to cite them; without one, the tutor
answers with the passages themselves.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import snowballstemmer

_STOP = {
    "en": set(
        "the a an of to in is it and or what how why when which that this does do are for with on be by as "
        "from at can its their i you me my we".split()
    ),
    "es": set(
        "el la los las un una unos unas de del en y o que qué cómo como por para es son se con al lo le su "
        "sus cuando cuándo cuál por qué porqué mi me yo tú te".split()
    ),
}


# words a learner uses for what the notes call otherwise, across the two languages: each group becomes one term
SYNONYMS = (
    ("autoencoder", "autoencoders", "autocodificador", "autocodificadores", "autoencoding"),
    ("reparameterisation", "reparameterization", "reparametrizacion", "reparametrisation", "reparametrization"),
    ("transformer", "transformers", "transformador", "transformadores"),
    ("query", "queries", "consulta", "consultas"),
    ("transparent", "transparency", "transparente", "transparencia", "alpha", "alfa"),
    ("midjourney", "mid-journey"),
    ("lettering", "spelling", "misspell", "misspells", "letters", "letras", "ortografia"),
    ("gan", "gans"),
)
_CANON = {word: group[0] for group in SYNONYMS for word in group}
CORRECTION = ("Correcting the notes", "Corrigiendo los apuntes")  # how a correcting section's title begins
MIN_SCORE = 1.5  # below this, no passage answers: the tutor says its notes do not cover the question


@cache
def _stemmer(lang: str):
    return snowballstemmer.stemmer("spanish" if lang == "es" else "english")


@dataclass(frozen=True)
class Passage:
    topic: str  # the file's title
    section: str
    text: str
    lang: str
    lesson: str = ""  # the file's stem: gan, vae, ..., systems

    @property
    def citation(self) -> str:
        return f"{self.topic} · {self.section}"

    @property
    def correction(self) -> bool:
        """This section corrects a mistake of the course notes."""
        return self.section.startswith(CORRECTION)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def _terms(text: str, lang: str) -> list[str]:
    """The text's searchable terms: folded (lower case, no accents), stop words out, synonyms joined, stemmed."""
    words = re.findall(r"[a-z0-9·-]+", _fold(text))
    stop = {_fold(w) for w in _STOP.get(lang, set())}
    kept = [_CANON.get(w, w) for w in (w.strip("-") for w in words) if w and w not in stop]
    return [w if w in _CANON else _stemmer(lang).stemWord(w) for w in kept]


def detect_language(text: str) -> str:
    """en or es, from function words and Spanish letters; English when unsure."""
    words = re.findall(r"\w+", text.lower())
    es = sum(w in _STOP["es"] for w in words) + 2 * len(re.findall(r"[ñ¿¡áéíóú]", text.lower()))
    en = sum(w in _STOP["en"] for w in words)
    return "es" if es > en else "en"


class Library:
    def __init__(self, root: str | Path):
        self.passages: list[Passage] = []
        for path in sorted(Path(root).glob("*/*.md")):
            lang = path.parent.name
            topic, section, lines = path.stem, None, []
            for line in path.read_text(encoding="utf-8").splitlines() + ["## "]:
                if line.startswith("# "):
                    topic = line[2:].strip()
                elif line.startswith("## "):
                    if section and "".join(lines).strip():
                        self.passages.append(Passage(topic, section, " ".join(lines).strip(), lang, path.stem))
                    section, lines = line[3:].strip(), []
                elif line.strip():
                    lines.append(line.strip().removeprefix(">").strip().removeprefix("⚠️").strip())  # a box
        self._docs = [Counter(_terms(f"{p.topic} {p.section} {p.text}", p.lang)) for p in self.passages]
        self._df: Counter = Counter()
        for doc in self._docs:
            self._df.update(doc.keys())
        self._avg = sum(sum(d.values()) for d in self._docs) / max(1, len(self._docs))

    @property
    def languages(self) -> set[str]:
        return {p.lang for p in self.passages}

    def search(self, question: str, lang: str | None = None, k: int = 3) -> list[Passage]:
        lang = lang or detect_language(question)
        query = _terms(question, lang)
        n = len(self._docs)
        scored = []
        for passage, doc in zip(self.passages, self._docs):
            if passage.lang != lang:
                continue
            length = sum(doc.values())
            score = 0.0
            for term in set(query):
                if term in doc:
                    idf = math.log(1 + (n - self._df[term] + 0.5) / (self._df[term] + 0.5))
                    tf = doc[term]
                    score += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / self._avg))
            if score >= MIN_SCORE:
                scored.append((score, passage))
        ranked = sorted(scored, key=lambda x: -x[0])[:k]
        # a correction that answers nearly as well as the best passage comes first: the question may rest on the
        # notes' mistake ("Is Midjourney a GAN?"), and the learner must meet the correction before the mistake
        fix = next((i for i, (score, p) in enumerate(ranked) if p.correction and score >= 0.6 * ranked[0][0]), None)
        if fix:
            ranked.insert(0, ranked.pop(fix))
        return [p for _, p in ranked]


_NO_MATCH = {
    "en": "My notes do not cover this. Ask about GANs, VAEs, RNNs and LSTMs, transformers, autoregressive "
    "models, diffusion models, or text-to-image systems and their limits (DALL·E, Midjourney, Stable Diffusion, "
    "Kandinsky, CLIP).",
    "es": "Mis apuntes no tratan esto. Pregunta por GAN, VAE, RNN y LSTM, transformers, modelos autorregresivos, "
    "modelos de difusión, o sistemas de texto a imagen y sus límites (DALL·E, Midjourney, Stable Diffusion, "
    "Kandinsky, CLIP).",
}
_CORRECTED = {
    "en": "Careful: the course notes are wrong on this point, and this section corrects them.",
    "es": "Cuidado: los apuntes del curso se equivocan en este punto, y esta sección los corrige.",
}
_INTRO = {
    "en": "From the course notes (no language model is running here, so these are the notes themselves):",
    "es": "De los apuntes (aquí no funciona ningún modelo de lenguaje, así que son los apuntes tal cual):",
}


def offline_answer(question: str, passages: list[Passage], lang: str) -> str:
    if not passages:
        return _NO_MATCH[lang]
    body = "\n\n".join(f"**{p.citation}**\n{p.text}" for p in passages)
    warning = f"{_CORRECTED[lang]}\n\n" if passages[0].correction else ""
    return f"{_INTRO[lang]}\n\n{warning}{body}"


def system_prompt(passages: list[Passage], lang: str) -> str:
    language = "Spanish" if lang == "es" else "English"
    notes = "\n\n".join(f"[{p.citation}]\n{p.text}" for p in passages) or "(no matching notes)"
    return (
        f"You are a patient tutor on generative AI architectures. Answer in {language}, in a few short "
        "paragraphs, using the course notes below; cite the sections you used in square brackets, e.g. "
        f"[{passages[0].citation if passages else 'GAN · How it samples'}]. If the notes do not cover the question, "
        f"say so.{_correction_rule(passages)}\n\nCourse notes:\n{notes}"
    )


def _correction_rule(passages: list[Passage]) -> str:
    fixes = [p.citation for p in passages if p.correction]
    if not fixes:
        return ""
    return (
        f" The section [{fixes[0]}] corrects a mistake in the original course notes: say plainly that the notes "
        "were wrong there, and answer with the correction."
    )
