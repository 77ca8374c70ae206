"""The mini's own commands, `lienzo train-mini` and `lienzo eval-mini`: their flags checked, the work handed to
hub.mini.train / tune / evaluate, what they report printed (hub.cli dispatches here)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parsers(sub) -> None:
    """`train-mini` and `eval-mini` with their flags, on `lienzo`'s subcommands (hub.cli.build_parser's `sub`)."""
    tm = sub.add_parser("train-mini", help="train the bundled mini Kandinsky from scratch (resumable)")
    tm.add_argument(
        "--out",
        type=Path,
        default=Path("lienzo-data/mini"),
        help="where the model folder goes (run it with LIENZO_MINI_WEIGHTS=<out>; to ship it, copy it "
        "over hub/mini/weights)",
    )
    tm.add_argument("--work", type=Path, default=Path("lienzo-data/train-mini"), help="checkpoints; rerun to resume")
    tm.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply every stage's steps and scene pools (e.g. 0.01 for a smoke run); batches stay the recipe's "
        "(change them with --set, e.g. --set unet_batch=8)",
    )
    tm.add_argument("--threads", type=int, help="torch CPU threads")
    tm.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="change one of the recipe's settings (hub/mini/recipe.py TrainConfig), e.g. --set seed=4 --set "
        "tune_unet_lr=2e-4; repeat for more",
    )
    tm.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        help="where to train (default: a CUDA GPU when torch sees one, else the CPU)",
    )
    tm.add_argument(
        "--stages",
        help="only these stages, comma-separated, in order (default: all of "
        "tokenizer,clip,prior,movq,unet,draft,inpaint,text,export); independent ones can run at once in separate "
        "processes on one --work folder: clip, movq and text side by side, then prior beside unet",
    )
    tm.add_argument(
        "--tune-from",
        type=Path,
        metavar="FOLDER",
        help="bring a trained model folder (e.g. hub/mini/weights) to every aspect and phrasing, keeping its "
        "image side: a new tokenizer, text tower and prior, the decoder continued on aspect buckets, a new "
        "draft decoder; written to --out, checkpoints in --work",
    )
    tm.add_argument(
        "--average-from",
        type=Path,
        metavar="FOLDER",
        help="average FOLDER's decoder, weight by weight, with the decoder of --average-with EARLIER (a model it "
        "was tuned from: a model soup), distil a draft decoder from the mean; written to --out, checkpoints in --work",
    )
    tm.add_argument("--average-with", type=Path, metavar="EARLIER", help="the earlier model for --average-from")
    tm.add_argument(
        "--average-weight",
        type=float,
        default=0.5,
        help="FOLDER's share of the mean with --average-from, between 0 and 1 (default 0.5)",
    )
    tm.add_argument(
        "--draft-from",
        type=Path,
        metavar="FOLDER",
        help="only the draft stage: distil FOLDER's decoder (a trained model folder, e.g. hub/mini/weights) into "
        "FOLDER/decoder-draft, checkpoints in --work",
    )
    tm.add_argument(
        "--inpaint-from",
        type=Path,
        metavar="FOLDER",
        help="only the inpaint stage: teach FOLDER's decoder to repaint a region, zoom out and pan, written to "
        "FOLDER/decoder-inpaint, checkpoints in --work",
    )
    tm.add_argument(
        "--fastvae-from",
        type=Path,
        metavar="FOLDER",
        help="only the fastvae stage: distil FOLDER's MoVQ into a tiny latent decoder for drafts and previews, "
        "written to FOLDER/vae-fast, checkpoints in --work",
    )

    ev = sub.add_parser("eval-mini", help="score the mini model on held-out prompts (GenEval-style), en and es")
    ev.add_argument("--single", type=int, default=24, help="single-object prompts per language")
    ev.add_argument("--two", type=int, default=24, help="two-object prompts per language")
    ev.add_argument("--out", type=Path, default=Path("eval-mini.json"), help="write the JSON report here")
    ev.add_argument("--grid", type=Path, help="also draw a sample grid PNG here")
    ev.add_argument("--card", action="store_true", help="write the model card (README.md) into the model folder")
    ev.add_argument("--weights", type=Path, help="score this `train-mini --out` folder instead of the bundled model")
    ev.add_argument("--draft", action="store_true", help="draw the prompts with --draft (the few-step settings)")
    ev.add_argument(
        "--aspects",
        default="1:1,16:9,9:16",
        help="the aspect ratios to score, comma-separated; the first is the headline table (default 1:1,16:9,9:16)",
    )
    ev.add_argument("--images", type=int, default=4, help="images a prompt, 1-4 (default 4)")
    ev.add_argument(
        "--edits",
        type=int,
        metavar="N",
        help="score the editing actions instead (Vary (Region) and Zoom Out by the inpainting decoder) on N "
        "held-out prompts per language (96 for the card)",
    )
    ev.add_argument(
        "--held-out",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also score the held-out phrasings (default: yes)",
    )
    ev.add_argument(
        "--compare",
        type=Path,
        metavar="REPORT",
        help="a report to compare with (e.g. docs/eval-mini.json, the committed model's); with --card, "
        "a from-scratch run's report, set beside this model's figures on the card",
    )


def _stage_list(raw: str) -> tuple[str, ...]:
    """--stages "clip, movq" as ("clip", "movq"); the caller checks the names against its own stages."""
    return tuple(s.strip() for s in raw.split(",") if s.strip())


def _trained_folder(flag: str, folder: Path, threads: int | None) -> None:
    """`folder` must be a trained mini (prior/ and decoder/), else ConfigError naming `flag`; then the threads."""
    from hub.errors import ConfigError

    if not all((folder / part).is_dir() for part in ("prior", "decoder")):
        raise ConfigError(f"{flag} {folder} is not a trained model folder (it needs prior/ and decoder/)")
    if threads:
        import torch

        torch.set_num_threads(threads)


def _with_settings(cfg, pairs: list[str]):
    """The recipe with `--set KEY=VALUE` overrides (TrainConfig's fields: seed, tune_unet_lr, ...), each VALUE read
    as its field's type; a name that is no field, or a value of the wrong kind, is refused in words."""
    from dataclasses import fields, replace

    from hub.errors import ConfigError, shown

    kinds = {
        f.name: type(getattr(cfg, f.name)) for f in fields(cfg) if type(getattr(cfg, f.name)) in (int, float, bool)
    }
    changes = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        key = key.strip()
        if not eq or key not in kinds:
            raise ConfigError(
                f"--set {shown(pair, 60)} is not valid: give KEY=VALUE with KEY one of the recipe's settings "
                f"({', '.join(sorted(kinds))})"
            )
        kind = kinds[key]
        takes = {bool: "true or false", int: "a whole number", float: "a number"}[kind]
        try:
            read = kind(value) if kind is not bool else {"true": True, "false": False}[value.strip().lower()]
        except (KeyError, ValueError):
            raise ConfigError(f"--set {key}={shown(value, 40)} is not valid: {key} takes {takes}") from None
        if kind in (int, float) and (read != read or read < 0):  # nan, or a negative count or rate
            raise ConfigError(f"--set {key}={shown(value, 40)} is not valid: {key} takes a number of 0 or more")
        changes[key] = read
    return replace(cfg, **changes) if changes else cfg


def train_mini(settings, args) -> int:
    """`lienzo train-mini`: the whole recipe, some stages of it, or one of the stages that start from a trained
    folder (--tune-from, --draft-from, --fastvae-from, --inpaint-from)."""
    from hub.errors import ConfigError
    from hub.mini.recipe import TrainConfig
    from hub.mini.train import train

    if not 0 < args.scale <= 100:  # also refuses nan
        raise ConfigError(
            f"--scale {args.scale:g} is not valid: give a number above 0 and up to 100 "
            "(1 is the full recipe, 0.01 a smoke run)"
        )
    if args.threads is not None and args.threads < 1:
        raise ConfigError(f"--threads {args.threads} is not valid: give 1 or more CPU threads")
    cfg = TrainConfig() if args.scale == 1.0 else TrainConfig().scaled(args.scale)
    cfg = _with_settings(cfg, getattr(args, "set", None) or [])
    if args.tune_from:
        from hub.mini.tune import tune_from

        _trained_folder("--tune-from", args.tune_from, args.threads)
        from hub.mini.tune import TUNE_STAGES

        stages = TUNE_STAGES
        if args.stages is not None:
            stages = _stage_list(args.stages)
            if not stages or any(s not in TUNE_STAGES for s in stages):
                raise ConfigError(f"--stages {args.stages!r} with --tune-from: choose from {','.join(TUNE_STAGES)}")
        meta = tune_from(args.tune_from, args.work, args.out, cfg, settings, args.device, stages)
        print(json.dumps(meta["tune"]["seconds"]))
        return 0
    if args.average_from or args.average_with:
        from hub.mini.average import average_decoders

        if not (args.average_from and args.average_with):
            raise ConfigError("--average-from FOLDER and --average-with EARLIER go together: give both")
        _trained_folder("--average-from", args.average_from, args.threads)
        _trained_folder("--average-with", args.average_with, args.threads)
        record = average_decoders(args.average_from, args.average_with, args.out, args.work, cfg, args.average_weight)
        print(json.dumps(record["seconds"]))
        return 0
    if args.draft_from:
        from hub.mini.from_folder import draft_from

        _trained_folder("--draft-from", args.draft_from, args.threads)
        print(json.dumps(draft_from(args.draft_from, args.work, cfg, settings)))
        return 0
    if args.fastvae_from:
        from hub.mini.from_folder import fastvae_from

        _trained_folder("--fastvae-from", args.fastvae_from, args.threads)
        print(json.dumps(fastvae_from(args.fastvae_from, args.work, cfg, settings)))
        return 0
    if args.inpaint_from:
        from hub.mini.from_folder import inpaint_from

        _trained_folder("--inpaint-from", args.inpaint_from, args.threads)
        print(json.dumps(inpaint_from(args.inpaint_from, args.work, cfg, settings)))
        return 0
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: this torch sees no CUDA GPU; leave --device out to use the CPU")
    from hub.mini.recipe import STAGES

    stages = STAGES
    if args.stages is not None:
        stages = _stage_list(args.stages)
        unknown = [s for s in stages if s not in STAGES]
        if unknown or not stages:
            raise ConfigError(
                f"--stages {args.stages!r}: {', '.join(unknown) or 'none given'} is not a stage; "
                f"choose from {','.join(STAGES)}"
            )
    meta = train(args.out, args.work, cfg, threads=args.threads, device=args.device, stages=stages)
    print(json.dumps(meta.get("seconds", meta)))
    return 0


def eval_mini(settings, args) -> int:
    """`lienzo eval-mini`: the held-out prompts scored at each aspect (or with --edits the editing actions), the
    report written, and with --card the model card beside the weights."""
    from tqdm import tqdm

    from hub.errors import ConfigError
    from hub.mini.evaluate import aspect_table, evaluate, sample_grid, table

    edits = 1 if args.edits is None else args.edits
    counts = (("--single", args.single), ("--two", args.two), ("--edits", edits))
    for flag, n in counts:
        if not 1 <= n <= 1000:
            raise ConfigError(f"{flag} {n} is not valid: give 1 to 1000 prompts per language")
    if args.weights:
        settings = settings.with_(mini_weights=args.weights)
    from hub.catalog import BUNDLED_ROOT

    root = settings.mini_weights or BUNDLED_ROOT  # the model scored, and the card's folder
    reference = _eval_report(args.compare) if args.compare else None  # a bad report fails before the work
    if args.card and reference:  # and so does one the card would not take
        from hub.mini.card import check_reproduction, training_meta

        check_reproduction(training_meta(root), reference)
    bar = tqdm(desc="eval-mini", unit="prompt", file=sys.stderr)

    def progress(done, total):
        bar.total = total
        bar.update(done - bar.n)

    from hub.prompt import parse_aspect

    aspects = tuple("{}:{}".format(*parse_aspect("--aspects", a.strip())) for a in args.aspects.split(",") if a.strip())
    if not aspects:
        raise ConfigError("--aspects needs at least one aspect ratio, e.g. 1:1,16:9")
    if not 1 <= args.images <= 4:
        raise ConfigError(f"--images {args.images} is not valid: give 1 to 4 images a prompt")
    if args.edits is not None:
        from hub.mini.evaluate_edits import evaluate_edits

        report = evaluate_edits(settings, args.edits, args.images, progress=progress)
        bar.close()
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        if args.card:  # the model card's editing section, and the report beside the weights
            from hub.mini.evaluate_edits import write_card_section

            (root / "eval-edits.json").write_text(json.dumps(report, indent=2) + "\n")
            write_card_section(root, report)
        print(json.dumps({k: report[k] for k in ("region_percent", "zoom_percent")}, indent=2))
        return 0
    report = evaluate(
        settings,
        args.single,
        args.two,
        args.images,
        progress=progress,
        draft=args.draft,
        aspects=aspects,
        held=args.held_out,
    )
    bar.close()
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(aspect_table(report))
    print(json.dumps({k: v for k, v in report.items() if k not in ("accuracy_percent", "by_aspect")}, indent=2))
    if reference:
        print(f"against {args.compare}:\n{table(report, reference)}")
        theirs, ours = reference.get("prompts", {}), report["prompts"]
        if (theirs.get("single"), theirs.get("two_object")) != (ours["single"], ours["two_object"]):
            print(
                f"(the reference was scored on {theirs.get('single')} + {theirs.get('two_object')} prompts "
                f"per language, this run on {ours['single']} + {ours['two_object']}: for a like-for-like "
                f"comparison pass --single {theirs.get('single')} --two {theirs.get('two_object')})"
            )
    grids = []  # one a scored aspect: NAME.png for the first, NAME-16x9.png ... for the others
    for i, aspect in enumerate(aspects if args.grid else ()):
        path = args.grid if i == 0 else args.grid.with_name(f"{args.grid.stem}-{aspect.replace(':', 'x')}.png")
        grids.append(sample_grid(path, settings, aspect))
        print(f"sample grid ({aspect}): {grids[-1]}")
    if args.card:
        from hub.mini.card import write_card

        if grids and grids[0].parent != root:
            import shutil

            grids = [Path(shutil.copy2(g, root / g.name.replace(args.grid.stem, "samples", 1))) for g in grids]
        print(f"model card: {write_card(root, report, grids, reproduction=reference)}")
    return 0


def _eval_report(path: Path) -> dict:
    """The eval-mini report --compare names, or ConfigError saying what is wrong with it in words."""
    from hub.errors import ConfigError

    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        why = "it cannot be read"
    except ValueError:
        why = "it is not JSON"
    else:
        scores = report.get("accuracy_percent") if isinstance(report, dict) else None
        if isinstance(scores, dict) and isinstance(scores.get("en"), dict):
            return report
        why = "it has no English scores (accuracy_percent.en)"
    raise ConfigError(
        f"--compare {str(path)!r} is not an eval-mini report: {why}; write one with `lienzo eval-mini --out FILE`"
    )
