"""`lienzo train-mini --average-from FOLDER --average-with EARLIER`: the decoder averaged, weight by weight, with
the decoder of an earlier model on the same tune chain (a "model soup": Wortsman et al. 2022, "Model soups:
averaging weights of multiple fine-tuned models improves accuracy without increasing inference time").

Two decoder-only tunes of the mini, each continued from the other on other scenes, wander in different directions
at each aspect (session 21's drew 16:9 better and 9:16 worse than session 20's); their mean sits between them in
weight space, where both were trained from, and draws no slower. Only models on one chain average: EARLIER must be
an ancestor of FOLDER (its `finished` is one FOLDER's tunes started from), so both decoders descend from the same
weights. The draft decoder is distilled again from the averaged decoder, as a tune's export does; everything else
is FOLDER's own.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

import torch

UNET = Path("decoder") / "unet" / "diffusion_pytorch_model.safetensors"


def _meta(folder: Path) -> dict:
    try:  # a folder without a readable record has no tune chain, and is refused as such
        meta = json.loads((folder / "training.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def ancestors(meta: dict) -> set[str]:
    """When each model this one was tuned from finished: the starting points of its tune records."""
    tunes = meta.get("tunes")
    records = [*(tunes if isinstance(tunes, list) else []), meta.get("tune")]
    return {r["from"] for r in records if isinstance(r, dict) and isinstance(r.get("from"), str)}


def average_decoders(folder: Path, earlier: Path, out: Path, work: Path, cfg, weight: float = 0.5, settings=None):
    """`out`: FOLDER with its decoder UNet = weight * FOLDER's + (1 - weight) * EARLIER's (computed in fp32 from the
    stored fp16, stored as fp16) and a draft decoder distilled from it; training.json gains the record. Returns
    the record. ConfigError when EARLIER is not an ancestor of FOLDER, the two decoders differ in shape or `out`
    already holds something: nothing is replaced."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from hub.errors import ConfigError
    from hub.mini.from_folder import draft_from
    from hub.mini.train import run_facts
    from hub.mini.tune import draft_record, earlier_tunes

    base, other = _meta(folder), _meta(earlier)
    if not isinstance(other.get("finished"), str) or other["finished"] not in ancestors(base):
        raise ConfigError(
            f"--average-with {str(earlier)!r} is not a model {str(folder)!r} was tuned from: averaging needs two "
            "decoders of one tune chain (the earlier folder's training.json 'finished' must be where one of the "
            "later folder's tunes started)"
        )
    if not 0 < weight < 1:
        raise ConfigError(f"--average-weight {weight:g} is not valid: give a number between 0 and 1")
    if out.exists() and (
        not out.is_dir() or out.resolve() in (folder.resolve(), earlier.resolve()) or any(out.iterdir())
    ):
        raise ConfigError(f"--out {str(out)!r} already holds files: give a new or empty folder (nothing is replaced)")
    mine, theirs = load_file(folder / UNET), load_file(earlier / UNET)
    if mine.keys() != theirs.keys() or any(mine[k].shape != theirs[k].shape for k in mine):
        raise ConfigError(f"the decoders of {str(folder)!r} and {str(earlier)!r} do not have the same layers")
    built = work / "averaged"  # made in the work folder (a rerun starts it again; the draft resumes), then moved
    if built.exists():
        shutil.rmtree(built)
    shutil.copytree(folder, built)
    with safe_open(str(folder / UNET), "pt") as f:
        stored = f.metadata()
    mean = {k: (weight * mine[k].float() + (1 - weight) * theirs[k].float()).to(mine[k].dtype) for k in mine}
    save_file(mean, built / UNET, metadata=stored)
    start = time.perf_counter()
    draft = draft_from(built, work / "draft", replace(cfg, draft_steps=cfg.tune_draft_steps), settings)
    took = round(time.perf_counter() - start, 1)
    facts = run_facts(torch.device("cpu") if not torch.cuda.is_available() else torch.device("cuda"))
    record = {
        "from": base.get("finished"),
        "averaged_with": other["finished"],
        "weight": weight,
        "config": {"seed": cfg.seed, "tune_draft_steps": cfg.tune_draft_steps},
        "seconds": {"draft": took, "total": took},
        "draft": draft,
        "language": "kept",
        **facts,
    }
    keep = {k: v for k, v in base.items() if k not in ("tune", "tunes", "tune_note", "known_limits", "draft")}
    how = (
        f"distilled again from the averaged decoder ({cfg.tune_draft_steps} steps of {cfg.draft_batch} on "
        f"{cfg.draft_pool} fresh scenes at every aspect), which it does not change"
    )
    meta = {
        **keep,
        "tunes": earlier_tunes(base),
        "tune": record,
        "draft": draft_record(took, draft, how, facts),
        "finished": facts["finished"],
    }
    (built / "training.json").write_text(json.dumps(meta, indent=2) + "\n")
    out.mkdir(parents=True, exist_ok=True)
    for part in built.iterdir():
        shutil.move(str(part), out / part.name)
    return record
