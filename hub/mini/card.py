"""The mini model's card (README.md in the model folder), written from training.json and eval-mini's report."""

from __future__ import annotations

import json
from pathlib import Path

from hub.mini.evaluate import aspect_table, table
from hub.mini.world import BUCKETS, HELD_OUT


def write_card(model_dir: Path, report: dict, grids, reproduction: dict | None = None) -> Path:
    """The card for the model in `model_dir`, scored by `report`; `reproduction`, a from-scratch run's report,
    is set beside it with each figure's difference."""
    meta = training_meta(model_dir)
    if reproduction:
        check_reproduction(meta, reproduction)
    sizes = {
        p.name: sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) for p in model_dir.iterdir() if p.is_dir()
    }
    secs = meta["seconds"]
    arch = _as_shipped(model_dir, meta["arch"])
    cfg = meta["config"]
    mix, var = report["mix"], report["variation_keeps_colour_and_shape_percent"]
    tunes = _tune_records(meta)  # the base recipe finished where the first tune started
    weighting = f", Min-SNR-{cfg['min_snr']:g} loss weighting" if cfg.get("min_snr") else ""
    noise = f", conditioning noise up to {cfg['cond_noise']:g} of the embedding's norm" if cfg.get("cond_noise") else ""
    unet_extra = (
        f"{weighting}{noise}, on a pool of {cfg['unet_pool']} scenes encoded once" if "unet_pool" in cfg else ""
    )
    grids = [grids] if isinstance(grids, Path) else list(grids or ())
    aspects = report.get("aspects") or ["1:1"]
    grid_line = "".join(f"{a}:\n\n![Samples at {a}]({g.name})\n\n" for a, g in zip(aspects, grids))
    targets = {"colour": 90, "shape": 80, "position": 80, "relation": 70}  # what the model is built to reach
    worst = {k: min(lang[k] for lang in report["accuracy_percent"].values()) for k in targets}
    below = [f"{k} ({worst[k]:.1f}% < {v}%)" for k, v in targets.items() if worst[k] < v]
    short = (
        (
            "Below its targets: " + ", ".join(below) + ". It puts the right colours in the right places, but it "
            "draws squares with rounded corners, which the geometric detector often reads as circles, and some "
            "triangles with a dent that reads as a star."
        )
        if below
        else "It meets its targets in both languages."
    )
    low, key, lang = min(  # hidden counts failures: lower is better, so it is no accuracy to rank
        (v, k, lang) for lang, row in report["accuracy_percent"].items() for k, v in row.items() if k != "hidden"
    )
    short += f" Its weakest figure is {key} ({low:.1f}% in {lang})."
    if meta.get("known_limits"):  # what someone looking at its pictures noticed (written into training.json)
        short += " " + meta["known_limits"]
    text = f"""---
license: apache-2.0
library_name: diffusers
tags: [kandinsky, text-to-image, tiny, offline]
---

# Lienzo mini Kandinsky

A miniature Kandinsky 2.2, trained from scratch on a procedurally drawn world of flat shapes, in English
and Spanish. Same classes and code path as the real model: CLIP text encoder → prior → CLIP image
embedding → UNet on MoVQ latents → MoVQ decoder. It runs offline on a CPU and is what Lienzo uses
when no GPU or no network is available.

```python
from diffusers import KandinskyV22Pipeline, KandinskyV22PriorPipeline

prior = KandinskyV22PriorPipeline.from_pretrained("hub/mini/weights/prior")
decoder = KandinskyV22Pipeline.from_pretrained("hub/mini/weights/decoder")
emb = prior("a red circle above a blue square")
image = decoder(
    image_embeds=emb.image_embeds, negative_image_embeds=emb.negative_image_embeds, height=64, width=64
).images[0]
```

{grid_line}
## Data
`hub/mini/world.py`: scenes of one or two shapes (circle, square, triangle, star) in 8 flat
colours on a plain background; single shapes at a position (left, right, top, bottom, centre) and size
(small, large); two shapes in a relation (above, below, left of, right of). Every scene can be drawn at each of
the {len(BUCKETS)} sizes `--ar` gives the mini ({_buckets()}), positions being fractions of the picture.
Captions come from a grammar in English and Spanish, canonical ("a red circle above a blue square" / "un
círculo rojo encima de un cuadrado azul") and as people write them (`world.phrase`: synonyms such as "over",
"beneath", "next to … on the left", "por encima de", "al lado de"; either object first; articles; the relation
said before the objects). {len(HELD_OUT)} phrasings are never written in training and kept for evaluation:
{_held_out()}. Scenes are drawn on the fly from a seed, so there is no dataset to download.

## Architecture
| part | class | size |
|---|---|---|
| tokenizer | CLIPTokenizer (BPE trained locally) | {arch["vocab_size"]} tokens, {arch["max_length"]} positions |
| text encoder | CLIPTextModelWithProjection | width {arch["width"]}, {arch["text_layers"]} layers |
| image encoder | CLIPVisionModelWithProjection | width {arch.get("vision_width") or arch["width"]} (projected to {arch["width"]}), {arch["vision_layers"]} layers, patch {arch["patch_size"]} |
| prior | PriorTransformer + UnCLIPScheduler | {arch["prior_layers"]} layers, embedding {arch["width"]} |
| decoder | UNet2DConditionModel (addition_embed_type="image") + DDPMScheduler (v-prediction, trailing timesteps) | channels {tuple(arch["unet_channels"])} on 16×16×4 latents |
| MoVQ | VQModel (spatial norm), latents standardised by folding | channels {tuple(arch["movq_channels"])} |
| mini-text | GPT2LMHeadModel | 3 layers × 96 |
{_fastvae_row(model_dir)}
Files (fp16 safetensors, loaded as fp32 on CPU): {", ".join(f"{k}/ {v / 2**20:.1f} MB" for k, v in sorted(sizes.items()))}.

The decoder keeps Kandinsky 2.2's noise schedule but predicts v instead of the noise: trained to predict the
noise, this small UNet all but ignored the image embedding at high noise, so the seed rather than the prompt
chose the background and colours (colour 49%, shape 13% with the same budget). Sampling uses trailing
timesteps, so the first step is t = 999, where pure noise is what the model was trained on. Lienzo samples it
with 25 prior steps at guidance 4 and 25 decoder steps at guidance 2 (the catalog's defaults; decoder guidance 4
drew shapes less well: 64% against 80% on 96 held-out prompts, one image each). {_guard()}

## Training
`lienzo train-mini` (resumable; seed {cfg["seed"]}): CLIP {cfg["clip_steps"]} steps (contrastive over pictures and
captions, each scene with a drawn hard negative that differs in one attribute: colour, shape, position, size, the
two objects' places or colours; plus linear heads, dropped at export, that must read background, colours, shapes,
position, size and layout back from the image embedding), prior {cfg["prior_steps"]}, MoVQ {cfg["movq_steps"]}, UNet
{cfg["unet_steps"]} (EMA 0.999{unet_extra}), mini-text {cfg["text_steps"]}. Took {secs["total"] / 60:.0f} minutes on
{_threads(meta["threads"])} (shared with other work): CLIP {secs["clip"] / 60:.1f}, prior {secs["prior"] / 60:.1f},
MoVQ {secs["movq"] / 60:.1f}, UNet {secs["unet"] / 60:.1f}, text {secs["text"] / 60:.1f} min. Finished
{tunes[0].get("from") if tunes else meta["finished"]}. {meta.get("note", "")}{_tunes(meta)}

## Evaluation (`lienzo eval-mini`)
Held-out prompts ({report["prompts"]["single"]} single-object and {report["prompts"]["two_object"]}
two-object per language, {report["prompts"]["images_each"]} images each), scored by an independent detector
(`hub/mini/detect.py`: colour segmentation and shape geometry; 100% on rendered ground truth). Accuracy in %:

{table(report)}
{_aspects(report)}
- mix 0.5/0.5 of "a red circle" and "a blue square": {mix["between_percent"]}% of images land between the two in
  CLIP image-embedding space; {mix["traits_of_both_percent"]}% show a trait of each (red or circle, and blue or square).
- strong variation keeps the source's main colour and shape: {var}%.
- same seed, same pixels: {"yes" if report["seed_determinism"] else "NO"}.

{_draft(model_dir, report)}{_reproduction(report, reproduction)}## Known limits
It only knows its shapes world: anything else comes out as shapes. About 64×64 pixels at any aspect (from
128×32 to 32×128). {short}
"""
    path = model_dir / "README.md"
    from hub.mini.evaluate_edits import END, START

    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if START in old and END in old:  # the editing section (eval-mini --edits --card) stays
        text = text.rstrip("\n") + "\n\n" + old[old.index(START) : old.index(END) + len(END)] + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def _buckets() -> str:
    return ", ".join(f"{w}×{h}" for w, h in BUCKETS)


def _held_out() -> str:
    examples = {
        ("en", "plain", "on top of"): "X on top of Y",
        ("en", "plain", "underneath"): "Y underneath X",
        ("en", "and-it", "below"): "X, and below it Y",
        ("en", "beside", "its left"): "X beside Y, on its left",
        ("en", "front", "to the right of"): "to the right of X there is Y",
        ("es", "plain", "sobre"): "X sobre Y",
        ("es", "plain", "por debajo de"): "Y por debajo de X",
        ("es", "beside", "a su izquierda"): "X junto a Y, a su izquierda",
        ("es", "front", "a la derecha de"): "a la derecha de X hay Y",
    }
    return "; ".join(f'"{examples.get(h, " / ".join(h))}"' for h in HELD_OUT)


def _threads(n: int) -> str:
    return f"{n} CPU thread{'' if n == 1 else 's'}"


def _tune_records(meta: dict) -> list[dict]:
    """Every `train-mini --tune-from` the model had, oldest first (training.json's "tunes", then "tune")."""
    return list(meta.get("tunes", [])) + ([meta["tune"]] if meta.get("tune") else [])


def _tunes(meta: dict) -> str:
    """What `train-mini --tune-from` did to the model, tune by tune, each on the machine it ran on (a record
    without its own run facts ran where the base recipe did)."""
    records = _tune_records(meta)
    text = ""
    for i, tune in enumerate(records):
        last = i == len(records) - 1
        finished = meta["finished"] if last else tune.get("finished")
        note = meta.get("tune_note", "") if last else tune.get("note", "")
        where = tune.get("device", meta.get("device", "cpu"))
        where = _threads(tune.get("threads", meta["threads"])) if where == "cpu" else where
        again = any(r.get("language") == "kept" for r in records[:i])  # an earlier tune brought it to every aspect
        text += _tune(
            tune, where, finished, note, "the model trained above" if i == 0 else "the tuned model above", again
        )
    return text


def _as_shipped(model_dir: Path, arch: dict) -> dict:
    """The recipe's architecture with the text side as shipped: a language tune brings its own tokenizer and text
    tower (their sizes are read from the folder's configs)."""
    path = model_dir / "prior" / "text_encoder" / "config.json"
    if not path.exists():
        return arch
    text = json.loads(path.read_text(encoding="utf-8"))
    return {**arch, "vocab_size": text["vocab_size"], "text_layers": text["num_hidden_layers"]}


def _tune(tune: dict, where: str, finished, note: str, source: str, again: bool = False) -> str:
    c, secs = tune["config"], tune["seconds"]
    draft = (
        f"; the draft decoder distilled again for {c['tune_draft_steps']} steps, starting from the tuned decoder"
        if "draft" in secs
        else ""
    )
    draft_time = f"; draft {secs['draft'] / 60:.1f}" if "draft" in secs else ""
    if "averaged_with" in tune:  # lienzo train-mini --average-from … --average-with … (hub/mini/average.py)
        return f"""
Then its decoder was averaged, weight by weight, with the decoder of the model finished {tune["averaged_with"]} on
the same chain (a model soup: `lienzo train-mini --average-from … --average-with …`, `hub/mini/average.py`), from
{source} (finished {tune.get("from")}) with weight {tune["weight"]:g}; the draft decoder distilled again for
{c["tune_draft_steps"]} steps, starting from the averaged decoder. Took {secs["total"] / 60:.0f} minutes on {where}.
Finished {finished}. {note}
"""
    if tune.get("language") == "kept":  # a decoder-only tune (--stages unet,export)
        what = "continued on every aspect again" if again else "brought to every aspect"
        return f"""
Then its decoder was {what} (`lienzo train-mini --tune-from … --stages unet,export`,
`hub/mini/tune.py`), from {source} (finished {tune.get("from")}): the decoder continued
{c["tune_unet_steps"]} steps{_of_schedule(c)} in aspect-ratio buckets (each batch one size; conditioned on the embedding of
the same scene drawn square, which is what the prior gives for a caption), on {c["tune_pool"]} scenes{_unlike_recipe(c)}{draft}; the
tokenizer, text tower, prior and MoVQ are the model's own. Took {secs["unet"] / 60:.0f} minutes on {where}{draft_time}.
Finished {finished}. {note}
"""
    if tune.get("decoder") == "kept":  # a language-only tune (--stages text,prior,export)
        return f"""
Then its language side was learnt again for every phrasing (`lienzo train-mini --tune-from … --stages
text,prior,export`, `hub/mini/tune.py`), from {source} (finished {tune.get("from")}): a new tokenizer on canonical
and varied captions; a new text tower ({c.get("tune_text_layers", 2)} layers) trained {c["tune_text_steps"]} steps contrastively against the locked image
tower (LiT), each scene with a drawn hard negative; a new prior, {c["tune_prior_steps"]} steps, on the same
{c["tune_pool"]} embedded scenes. The decoders (draft and inpainting included), the vision tower and the MoVQ are
the model's own. Took {secs["total"] / 60:.0f} minutes on {where} (text {secs["text"] / 60:.1f}, prior
{secs["prior"] / 60:.1f}). Finished {finished}. {note}
"""
    return f"""
Then tuned for every aspect and phrasing (`lienzo train-mini --tune-from`, `hub/mini/tune.py`), from {source}
(finished {tune.get("from")}): the image side (vision tower, MoVQ) kept locked; a new tokenizer on
canonical and varied captions; a new text tower ({c.get("tune_text_layers", 2)} layers) trained {c["tune_text_steps"]}
steps contrastively against the locked image tower (LiT), each scene with a drawn hard negative; a new prior,
{c["tune_prior_steps"]} steps; the
decoder continued {c["tune_unet_steps"]} steps{_of_schedule(c)} in aspect-ratio buckets (each batch one size; conditioned on the
embedding of the same scene drawn square, which is what the prior gives for a caption), on {c["tune_pool"]}
scenes{_unlike_recipe(c)}{draft}. Took {secs.get("wall", secs["total"]) / 60:.0f} minutes on {where} (text {secs["text"] / 60:.1f} and
prior {secs["prior"] / 60:.1f} in one process, beside the decoder's {secs["unet"] / 60:.1f}{draft_time}). Finished
{finished}. {note}
"""


def _aspects(report: dict) -> str:
    if not report.get("by_aspect"):  # a report written before eval-mini scored aspects
        return ""
    return f"""
Every aspect scored on the same prompts (16:9 draws 80×48, 9:16 48×80), and the held-out phrasings
(each two-object prompt in one of them, in turn, at 1:1). named: every object the prompt names is there;
count: exactly as many objects as named; hidden: the background took a named object's colour (lower is better):

{aspect_table(report)}
"""


def _guard() -> str:
    """The background guard's sentence (hub/mini/guard.py), with the catalog's scale."""
    from hub import catalog

    d = catalog.get("mini").defaults
    if not d.background_guard:
        return ""
    check = (
        f" Then a sampling check: the model's own CLIP reads each prior sample's background (cosine to the prompt with "
        f"each background); a sample read as a named object's colour is drawn again with fresh noise, each time "
        f"steering further, at most {d.background_redraws} times. With this language side, on 48 + 48 two-object "
        "prompts with no background named, 4 images each: the background hid an object in 22.4% of pictures "
        "unguarded, 3.4% with the hard negatives alone and 0.8% with the check too. The same reading then checks "
        "each decoded picture, whose background the decoder can paint in an object's colour from a sample that "
        "reads right, and draws a flagged one again with fresh noise, the decoder's guidance steered from the "
        "prior's embedding of the hiding background."
        if d.background_redraws
        else ""
    )
    return (
        "The prior's guidance also steers away from the prompt with a background in each colour it names (\"… on "
        f'a red background"; the background guard, `hub/mini/guard.py`, at {d.background_guard:g}): given the '
        "prior's embedding, the decoder painted a named object's colour over the background, hiding the object, in "
        "19.3% of pictures of two objects with no background named; with the guard in 1.6/0.0% (en/es; 48 prompts, "
        f"4 images each; session 16's language side).{check} A prompt that names its background steers away from "
        "itself with an object's colour in its place: on the 83 held-out prompts that name one, 2 images each at "
        "1:1 and 16:9, en and es, an object was hidden in 18 of 664 pictures before (the guard left such prompts "
        "alone), 9 with the check on decoded pictures, 4 with both."
    )


def _of_schedule(c: dict) -> str:
    total = c.get("tune_unet_schedule") or 0
    return f" (of a {total}-step cosine learning-rate schedule)" if total > c["tune_unet_steps"] else ""


def _unlike_recipe(c: dict) -> str:
    """What a decoder tune did unlike the recipe's own (TrainConfig's defaults; a record without the key did as the
    recipe)."""
    from hub.mini.recipe import TrainConfig

    recipe, told = TrainConfig(), []
    for key, what in (
        ("tune_unet_lr", "a peak learning rate of {} (the recipe's {})"),
        ("tune_wide_weight", "the 80×48 and 48×80 buckets drawn at weight {} (the recipe's {})"),
    ):
        own = getattr(recipe, key)
        if c.get(key, own) != own:
            told.append(what.format(f"{c[key]:g}", f"{own:g}"))
    return f", with {' and '.join(told)}" if told else ""


def _draft(model_dir: Path, report: dict) -> str:
    """The draft decoder's section, from `eval-draft.json` (eval-mini --draft) when the folder has both."""
    path = model_dir / "eval-draft.json"
    if not (model_dir / "decoder-draft").is_dir() or not path.exists():
        return ""
    draft = json.loads(path.read_text(encoding="utf-8"))
    how = draft.get("draft_settings") or {}
    trained = training_meta(model_dir).get("draft", {})
    took = (
        f" Distilled in {trained['seconds'] / 60:.0f} minutes on {_threads(trained['threads'])}: {trained['how']}."
        if trained
        else ""
    )
    fast = training_meta(model_dir).get("fastvae", {})
    tiny = (
        f" A draft's pictures come from `vae-fast/`, a tiny latent decoder (diffusers' AutoencoderTiny,"
        f" `hub/mini/fastvae.py`) distilled from the MoVQ in {fast['seconds'] / 60:.0f} minutes on"
        f" {_threads(fast['threads'])}: {fast['how'].rstrip('.')}. It also draws every job's progress previews;"
        " Enhance and every full picture are the MoVQ's."
        if fast and (model_dir / "vae-fast").is_dir()
        else ""
    )
    return f"""## Draft decoder (`--draft`)
`decoder-draft/` is the UNet distilled to a few steps with its guidance built in (latent consistency
distillation of the guided decoder, `hub/mini/distil.py`), sampled by diffusers' `LCMScheduler` with no
unconditional pass{": " + how["what"] if how.get("what") else ""}.{took}{tiny} The same held-out prompts drawn as
drafts, each figure's difference from the full model's in brackets:

{table(draft, report)}

"""


def _fastvae_row(model_dir: Path) -> str:
    """The architecture table's row for the tiny latent decoder, when the folder has one."""
    path = model_dir / "vae-fast" / "config.json"
    if not path.exists():
        return ""
    c = json.loads(path.read_text(encoding="utf-8"))
    return (
        f"| tiny latent decoder (drafts, previews) | AutoencoderTiny | decoder channels "
        f"{tuple(c['decoder_block_out_channels'])}, blocks {tuple(c['num_decoder_blocks'])} |\n"
    )


def training_meta(model_dir: Path) -> dict:
    """The model folder's training.json, which the card is written from."""
    from hub.errors import ConfigError

    path = model_dir / "training.json"
    if not path.exists():
        raise ConfigError(
            f"{str(model_dir)!r} has no training.json, which the card is written from "
            "(a `train-mini --out` folder has one)"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def check_reproduction(meta: dict, reproduction: dict) -> None:
    """`reproduction` must score another run of this model's recipe: the card calls it one."""
    from hub.errors import ConfigError

    theirs = reproduction.get("model", {})
    if "recipe" not in theirs:
        raise ConfigError(
            "the report to compare does not say which model it scored (it was written before eval-mini "
            "recorded the recipe): score the from-scratch run again with `lienzo eval-mini --weights "
            "FOLDER --out REPORT`"
        )
    ours = {"config": meta.get("config"), "arch": meta.get("arch")}
    recipe = {part: theirs["recipe"].get(part) or {} for part in ours}
    changed = sorted(
        f"{part}.{k}: {v} here, {recipe[part].get(k)} there"
        for part, values in ours.items()
        for k, v in (values or {}).items()
        if recipe[part].get(k) != v
    )
    if changed:
        raise ConfigError(
            f"the report to compare scored a model of another recipe ({'; '.join(changed)}): the card "
            "sets only a from-scratch run of the same recipe beside this model"
        )
    if theirs.get("finished") == meta.get("finished"):
        raise ConfigError(
            f"the report to compare scored this very model (training finished {meta.get('finished')}), "
            "not a second run of its recipe"
        )


def _reproduction(report: dict, reproduction: dict | None) -> str:
    if not reproduction:
        return ""
    same = all(reproduction["accuracy_percent"].get(lang) == row for lang, row in report["accuracy_percent"].items())
    verdict = (
        "Every figure is the same to the last digit: with the same seed and thread count, training is deterministic."
        if same
        else ""
    )
    return f"""## Reproduction
The same recipe run from scratch (`lienzo train-mini` in an empty work folder), then scored by
`lienzo eval-mini --weights <its folder>` on the same prompts. Its accuracy in %, with in brackets the difference
from this model's figures above:

{table(reproduction, report)}
{verdict}

"""
