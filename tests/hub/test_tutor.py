from demos.i18n import STRINGS
from hub.explainer import TEXTS
from hub.tutor import Library, detect_language, offline_answer, system_prompt


def test_every_topic_exists_in_both_languages_with_the_same_sections_count():
    en, es = sorted((TEXTS / "en").glob("*.md")), sorted((TEXTS / "es").glob("*.md"))
    assert [p.name for p in en] == [p.name for p in es] and len(en) == 6
    lib = Library(TEXTS)
    for lang in ("en", "es"):
        assert sum(p.lang == lang for p in lib.passages) == sum(p.lang == "en" for p in lib.passages)


def test_retrieval_finds_the_section_that_answers_in_the_question_language():
    lib = Library(TEXTS)
    assert lib.search("What is mode collapse in a GAN?")[0].citation.endswith("When it fails")
    assert lib.search("What is mode collapse in a GAN?")[0].topic.startswith("Generative adversarial")
    hit = lib.search("¿Por qué las imágenes de un VAE son borrosas?")[0]
    assert hit.lang == "es" and hit.section == "Cuándo falla" and "VAE" in hit.topic
    assert lib.search("How does Kandinsky mix images?")[0].section == "The Kandinsky 2.2 pipeline"
    assert lib.search("what is the capital of France") == []


def test_language_detection_and_honest_offline_answers():
    assert detect_language("¿Cómo muestrea una GAN?") == "es"
    assert detect_language("How does a GAN sample?") == "en"
    lib = Library(TEXTS)
    answer = offline_answer("q", lib.search("cómo muestrea una GAN", "es"), "es")
    assert answer.startswith("De los apuntes") and "**Redes generativas adversarias (GAN) · Cómo muestrea**" in answer
    assert "could not find" in offline_answer("q", [], "en")
    assert "Answer in Spanish" in system_prompt(lib.search("cómo muestrea una GAN", "es"), "es")


def test_i18n_has_every_key_in_both_languages():
    from demos.i18n import SAY

    for table in (STRINGS, SAY):
        assert set(table["en"]) == set(table["es"])
        assert all(table["es"][k] for k in table["es"])
        nested = [k for k, v in table["en"].items() if isinstance(v, dict)]  # Gradio's own namespaces
        assert all(set(table["en"][k]) <= set(table["es"][k]) for k in nested)  # es fills what Gradio lacks
