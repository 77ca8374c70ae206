"""Kandinsky 2.2 through diffusers: prior (text -> CLIP image embedding) + decoder (embedding -> image).

Everything goes through one image-embedding vector per image, which is what makes Kandinsky's
mixing possible: a weighted sum of embeddings of texts and images (the prior's `interpolate`).
The prior loop here is diffusers' own, unrolled so that one call can serve a batch of requests
whose images each keep their own seed and negative prompt, and so that the zero-image embedding
is computed once instead of on every call.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import diffusers
import torch
from diffusers import (
    KandinskyV22Img2ImgPipeline,
    KandinskyV22InpaintPipeline,
    KandinskyV22Pipeline,
    KandinskyV22PriorPipeline,
)
from PIL import Image

from hub.engines.common import (
    ImageTask,
    Progress,
    call_pipeline,
    generators,
    keep_own_size,
    only_masked,
    paste_kept_all,
    step_callback,
    steps_run,
    to_pil,
    uncropped,
)
from hub.engines.fill import from_canvas
from hub.engines.prior import forward as prior_forward, plan as prior_plan
from hub.engines.sampling_checks import NEGATIVE_SALT, PART_SALT, REDRAW_SALT, HiddenObjectChecks, part_check
from hub.errors import CapabilityError, InvalidRequest, shown
from hub.loading import Placement, channels_last_on_cpu, lanes_on_cpu, place

# solvers the prior can draw with instead of its ancestral UnCLIPScheduler (ImageTask.prior_scheduler), and settings
PRIOR_SOLVERS = {"DPMSolverMultistepScheduler": {"algorithm_type": "dpmsolver++", "solver_order": 2}}
ENCODED_KEPT = 32  # text-encoder calls remembered (encode): a job reads its prompt, "", its guard's texts again


class KandinskyEngine(HiddenObjectChecks):
    def __init__(
        self,
        prior: dict,
        decoder: dict,
        placement: Placement,
        preview_every: int = 5,
        draft: dict | None = None,
        inpaint: Callable | None = None,
        fast_vae: torch.nn.Module | None = None,
    ):
        self.placement = placement
        self.preview_every = preview_every
        self.prior = place(KandinskyV22PriorPipeline(**prior), placement)
        self.decoder = place(KandinskyV22Pipeline(**decoder), placement)
        # the distilled draft decoder shares the MoVQ; its scheduler is the LCMScheduler it was distilled for
        self.draft = place(KandinskyV22Pipeline(**{**decoder, **draft}), placement) if draft else None
        # the tiny latent decoder (hub/mini/fastvae.py): drafts' pictures and every job's previews; the MoVQ's otherwise
        self.fast_vae = fast_vae.to(placement.device).eval() if fast_vae is not None else None
        channels_last_on_cpu(placement, self.decoder.movq, self.fast_vae)
        lanes_on_cpu(  # the prior is left whole: its calls are mostly Python (hub/lanes.py)
            placement,
            (self.decoder.unet, "forward"),
            (self.draft.unet if self.draft else None, "forward"),
            (self.decoder.movq, "decode"),
            (self.fast_vae, "decode"),
        )
        self.img2img = place(KandinskyV22Img2ImgPipeline(**decoder), placement)
        keep_own_size(self.img2img)
        # the inpainting decoder (a UNet with 9 input channels): loaded on the first edit, it is a whole second UNet
        self._inpaint_unet = inpaint
        self._inpaint: KandinskyV22InpaintPipeline | None = None
        self._decoder_parts = decoder
        self._default_scheduler = self.decoder.scheduler
        self._zero: torch.Tensor | None = None
        self._lock = threading.Lock()  # diffusers schedulers keep state: one call at a time
        self._encoded: OrderedDict[tuple[str, ...], tuple] = OrderedDict()  # encode's last calls, newest last
        self._encoded_lock = threading.Lock()
        self._prior_solvers: dict[str, Any] = {}  # prior_scheduler's solvers, by class name

    @property
    def device(self) -> torch.device:
        # where the work runs: with model offload (hub/loading.py's place) the modules wait on the CPU until called
        return torch.device(self.placement.device)

    @property
    def size_multiple(self) -> int:
        return self.decoder.movq_scale_factor**2

    @property
    def tokenizer(self):
        """The tokenizer of the text encoder that reads the prompt (its window is what a prompt may use)."""
        return self.prior.tokenizer

    @property
    def sampler(self) -> str:
        """The decoder's own scheduler class: what "default" means in a request."""
        return type(self._default_scheduler).__name__

    @property
    def token_limit(self) -> int:
        return self.prior.tokenizer.model_max_length

    # --- embeddings ---------------------------------------------------------------------------
    @torch.no_grad()
    def zero_embed(self) -> torch.Tensor:
        """The image encoder's embedding of a black image: Kandinsky's unconditional embedding. Cached."""
        if self._zero is None:
            self._zero = self.prior.get_zero_embed(1, device=self.device)
        return self._zero

    @torch.no_grad()
    def image_embeds(self, images: list[Image.Image]) -> torch.Tensor:
        enc = self.prior.image_encoder
        pixels = self.prior.image_processor([im.convert("RGB") for im in images], return_tensors="pt").pixel_values
        return enc(pixels.to(device=self.device, dtype=enc.dtype))["image_embeds"]

    @torch.no_grad()
    def text_embeds(self, texts: list[str]) -> torch.Tensor:
        """CLIP text embeddings (projected), the space the prior maps into image embeddings."""
        return self.encode(texts)[0]

    @torch.no_grad()
    def encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """What the prior reads of a text: the projected embedding, every token's hidden state and the mask, from
        the pipeline's public tokenizer and text encoder (as diffusers' prior pipeline encodes its prompt).

        The last ENCODED_KEPT calls are remembered whole, keyed by their list of texts, so a call returns exactly what
        encoding that list would (a text encoded in another batch can round a little apart): a grid's prompt, its
        "" and its guard's texts are read again by every next job on that prompt, a draft's ~16 ms on the mini."""
        key = tuple(texts)
        with self._encoded_lock:
            if key in self._encoded:
                self._encoded.move_to_end(key)
                return self._encoded[key]
        tok = self.prior.tokenizer(
            texts, padding="max_length", max_length=self.token_limit, truncation=True, return_tensors="pt"
        )
        out = self.prior.text_encoder(tok.input_ids.to(self.device))
        found = (out.text_embeds, out.last_hidden_state, tok.attention_mask.bool().to(self.device))
        with self._encoded_lock:
            self._encoded[key] = found
            while len(self._encoded) > ENCODED_KEPT:
                self._encoded.popitem(last=False)
        return found

    def prior_scheduler(self, name: str | None):
        """The prior's own scheduler (name None), or a solver of PRIOR_SOLVERS built on its noise schedule, made once.
        Both keep state between steps: use under the engine's lock, one call at a time."""
        if not name:
            return self.prior.scheduler
        if name not in self._prior_solvers:
            if name not in PRIOR_SOLVERS:
                raise InvalidRequest(
                    f"prior scheduler {shown(name, 40)} is not valid: choose one of {', '.join(PRIOR_SOLVERS)}"
                )
            own = self.prior.scheduler.config
            self._prior_solvers[name] = getattr(diffusers, name)(
                num_train_timesteps=own.num_train_timesteps,
                beta_schedule=own.beta_schedule,
                prediction_type=own.prediction_type,  # Kandinsky's prior predicts the clean embedding
                **PRIOR_SOLVERS[name],
            )
        return self._prior_solvers[name]

    @torch.no_grad()
    def run_prior(
        self,
        texts: list[str],
        unconds: list[str],
        gens: list[torch.Generator],
        steps: int,
        guidance: float,
        on_step: Callable | None = None,
        avoids: list[list[str]] | None = None,
        avoid_scale: float = 0.0,
        solver: str | None = None,
    ) -> torch.Tensor:
        """diffusers' prior loop for a batch where row i has its own text, unconditional text and generator.

        `avoids[i]`: row i's hard negatives (hub.mini.guard). Their mean prediction is a further guidance term, as
        composable diffusion adds one per concept: pred += avoid_scale * (cond - mean(avoided)); a row with none gets
        no such term, whatever the batch pads it with. `solver`: a scheduler class in PRIOR_SOLVERS instead of the
        prior's own (ImageTask.prior_scheduler)."""
        pipe = self.prior
        scheduler = self.prior_scheduler(solver)
        cfg = guidance > 1.0
        avoids = avoids if avoid_scale and avoids and any(avoids) else None
        width = max(len(a) for a in avoids) if avoids else 0
        parts = [self.encode(unconds)] if cfg else []  # as diffusers: the unconditional rows first
        parts.append(self.encode(texts))
        for j in range(width):  # padded with the row's own text, weighed 0 below
            parts.append(self.encode([a[j] if j < len(a) else text for a, text in zip(avoids, texts)]))
        embeds, hidden, mask = (torch.cat(x) for x in zip(*parts))
        keep = prior_plan(pipe.prior, mask)  # the text tokens the prior reads, the same at every step
        if avoids:
            weight = torch.tensor(
                [[1.0 / len(a) if j < len(a) else 0.0 for a in avoids] for j in range(width)], device=self.device
            ).unsqueeze(-1)
        scheduler.set_timesteps(steps, device=self.device)
        timesteps = scheduler.timesteps
        latents = pipe.prepare_latents(
            (len(texts), pipe.prior.config.embedding_dim), embeds.dtype, self.device, gens, None, scheduler
        )
        copies = len(parts)
        for i, t in enumerate(timesteps):
            model_in = torch.cat([latents] * copies) if copies > 1 else latents
            pred = prior_forward(pipe.prior, model_in, t, embeds, hidden, mask, keep)  # the padding left out
            chunks = pred.chunk(copies)
            uncond, cond = (chunks[0], chunks[1]) if cfg else (None, chunks[0])
            pred = uncond + guidance * (cond - uncond) if cfg else cond
            if avoids:
                avoided = (torch.stack(chunks[copies - width :]) * weight.to(cond.dtype)).sum(0)
                has = weight.sum(0) > 0
                pred = pred + avoid_scale * torch.where(has, cond - avoided, torch.zeros_like(cond))
            if solver:  # deterministic: no noise drawn, no timestep pair to pass
                latents = scheduler.step(pred, t, latents).prev_sample
            else:
                prev = None if i + 1 == len(timesteps) else timesteps[i + 1]
                latents = scheduler.step(
                    pred, timestep=t, sample=latents, generator=gens, prev_timestep=prev
                ).prev_sample
            if on_step is not None:
                on_step(pipe, i, t, {"latents": latents})
        return pipe.prior.post_process_latents(latents)

    @torch.no_grad()
    def embed_tasks(self, tasks: list[ImageTask], on_step: Callable | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Image and negative embeddings for every image of every task, in order."""
        first = tasks[0]
        texts, unconds, owners, avoids = [], [], [], []  # owners: (task, image, part) or (task, image, "neg")
        seeds, checks = [], []  # each row's seed (salted) and its sampling check: (hiding, free, redraws) or None
        for ti, task in enumerate(tasks):
            for k, (text, _) in enumerate(task.parts):
                texts += [text] * len(task.seeds)
                unconds += [task.negative_prompt] * len(task.seeds)
                avoids += [list(task.avoid[k]) if task.avoid and k < len(task.avoid) else []] * len(task.seeds)
                seeds += [s + k * PART_SALT for s in task.seeds]
                checks += [part_check(task, k)] * len(task.seeds)
                owners += [(ti, i, k) for i in range(len(task.seeds))]
            if task.negative_prompt:
                texts += [task.negative_prompt] * len(task.seeds)
                unconds += [task.negative_prompt] * len(task.seeds)
                avoids += [[]] * len(task.seeds)
                seeds += [s + NEGATIVE_SALT for s in task.seeds]
                checks += [None] * len(task.seeds)
                owners += [(ti, i, "neg") for i in range(len(task.seeds))]
        prior_out = None
        if texts:
            steps, guidance = first.prior_num_inference_steps, first.prior_guidance_scale
            gens = generators(seeds)
            solver = first.prior_scheduler
            prior_out = self.run_prior(
                texts, unconds, gens, steps, guidance, on_step, avoids, first.avoid_scale, solver
            )

            def again(rows, attempt):  # the rows' samples drawn with fresh noise, as the first draw otherwise
                fresh = generators([seeds[r] for r in rows], salt=attempt * REDRAW_SALT)
                pick = lambda xs: [xs[r] for r in rows]  # noqa: E731
                scale = first.avoid_scale * (1 + attempt)  # each redraw steers further from the hiding texts
                return self.run_prior(
                    pick(texts), pick(unconds), fresh, steps, guidance, None, pick(avoids), scale, solver
                )

            prior_out = self.redraw_hidden(prior_out, checks, again)
        rows = {owner: r for r, owner in enumerate(owners)}
        zero = self.zero_embed()
        pos, neg = [], []
        for ti, task in enumerate(tasks):
            weights = [w for _, w in task.parts] + [w for _, w in task.images]
            total = sum(weights)
            img_embs = self.image_embeds([im for im, _ in task.images]) if task.images else None
            for i, seed in enumerate(task.seeds):
                emb = sum(prior_out[rows[(ti, i, k)]] * (w / total) for k, (_, w) in enumerate(task.parts))
                for j, (_, w) in enumerate(task.images):
                    emb = emb + img_embs[j] * (w / total)
                if task.chaos:
                    emb = _chaos(emb, task.chaos, seed)
                pos.append(emb)
                neg.append(prior_out[rows[(ti, i, "neg")]] if task.negative_prompt else zero[0])
        return torch.stack(pos), torch.stack(neg)

    # --- generation ---------------------------------------------------------------------------
    def generate(
        self, tasks: list[ImageTask], progress: Progress | None = None, should_stop: Callable[[], bool] = lambda: False
    ) -> list[list[Image.Image]]:
        """Run compatible tasks in one prior call and one decoder call; returns each task's images."""
        with self._lock, torch.no_grad():
            first = tasks[0]
            counts = [len(t.seeds) for t in tasks]
            starts = [sum(counts[:i]) for i in range(len(counts))]
            has_text = any(t.parts for t in tasks)
            prior_steps = first.prior_num_inference_steps if has_text else 0
            decoder_steps = _decoder_steps(first)
            # edits run one task a decoder call (_edit), so their prior's progress counts every task's steps
            edits = first.mask_image is not None
            total = prior_steps + (sum(_decoder_steps(t) for t in tasks) if edits else decoder_steps)
            on_prior = step_callback("prior", 0, total, progress, should_stop)
            image_embeds, negative = self.embed_tasks(tasks, on_prior)
            if edits:
                return self._edit(tasks, image_embeds, negative, prior_steps, progress, should_stop)
            seeds = [s for t in tasks for s in t.seeds]
            stop_at = None if first.stop in (None, 100) else max(1, decoder_steps * first.stop // 100)

            wanted = [s for s, t in zip(starts, tasks) if t.preview]

            def preview(latents):  # only the tasks that asked for previews pay for a decode
                shots = iter(self._decode_preview(latents[wanted]))
                return [next(shots) if t.preview else None for t in tasks]

            on_decoder = step_callback(
                "decoder",
                prior_steps,
                total,
                progress,
                should_stop,
                preview if wanted else None,
                self.preview_every,
                stop_at,
            )
            kwargs = dict(
                image_embeds=image_embeds,
                negative_image_embeds=negative,
                height=first.height,
                width=first.width,
                num_inference_steps=first.num_inference_steps,
                guidance_scale=first.guidance_scale,
                generator=generators(seeds),
                callback_on_step_end=on_decoder,
            )
            pipe, default_scheduler = self.decoder, self._default_scheduler
            if first.draft and self.draft is not None:  # the service sent the distilled draft's settings
                pipe, default_scheduler = self.draft, self.draft.scheduler
            elif first.init_image is not None:
                pipe = self.img2img
                inits = [
                    t.init_image.convert("RGB").resize((first.width, first.height), Image.LANCZOS)
                    for t in tasks
                    for _ in t.seeds
                ]
                kwargs.update(image=inits, strength=first.strength)
            kwargs["output_type"] = "latent"  # decoded below, a few images at a time
            images, stopped = call_pipeline(pipe, kwargs, first, default_scheduler, pipe.movq, self._decode)
            if stopped and progress is not None:  # --stop: the last steps never ran
                progress("decoder", total, total, None)
            if not stopped:
                images = self._final(pipe, images, fast=first.fast_decode)
                check = step_callback("decoder", total, total, None, should_stop)  # a redraw can still be cancelled
                checks = self._image_checks(tasks)
                negatives = [t.negative_prompt for t in tasks for _ in t.seeds]  # a batch mixes tasks' negatives
                again = lambda rows, attempt: self._redecode(  # noqa: E731
                    pipe, kwargs, seeds, rows, attempt, first, default_scheduler, check, checks, negatives
                )
                images = self.redraw_hidden(images, checks, again, read=self.image_embeds)
            return [images[s : s + n] for s, n in zip(starts, counts)]

    def inpaint_pipeline(self) -> KandinskyV22InpaintPipeline:
        if self._inpaint is None:
            unet = self._inpaint_unet() if self._inpaint_unet is not None else None
            if unet is None:
                raise CapabilityError("this model's weights have no inpainting decoder, so it cannot repaint a region")
            parts = {k: self._decoder_parts[k] for k in ("scheduler", "movq")}
            self._inpaint = place(KandinskyV22InpaintPipeline(unet=unet, **parts), self.placement)
            lanes_on_cpu(self.placement, (unet, "forward"))
        return self._inpaint

    def _edit(self, tasks, image_embeds, negative, prior_steps, progress, should_stop) -> list[list[Image.Image]]:
        """Inpainting, one task a call: the pipeline re-noises the kept area from its first image only, so a call
        holds one canvas (repeated for each seed). A small region is repainted "only masked" (common.only_masked:
        a crop around it at the task's full size, scaled back); a task's strength below 1 starts from its canvas
        noised part way (fill.py). The kept pixels are then put back exactly (paste_kept)."""
        pipe = self.inpaint_pipeline()
        steps = tasks[0].num_inference_steps
        runs = [steps_run(steps, t.strength) for t in tasks]  # a strength below 1 starts from the canvas (fill.py)
        total = prior_steps + sum(runs)
        out, row = [], 0
        for k, whole in enumerate(tasks):
            n = len(whole.seeds)
            task, box = only_masked(whole)  # a small region: only its surroundings, at the full size
            canvas, mask = task.init_image.convert("RGB"), task.mask_image.convert("L")

            def shots(latents, k=k, whole=whole, box=box):  # task k's preview, in its whole canvas
                return uncropped(self._preview(tasks, k, latents), whole, box)

            preview = shots if task.preview else None
            kwargs = dict(
                image_embeds=image_embeds[row : row + n],
                negative_image_embeds=negative[row : row + n],
                image=[canvas] * n,
                mask_image=[mask] * n,
                height=task.height,
                width=task.width,
                num_inference_steps=steps,
                guidance_scale=task.guidance_scale,
                generator=generators(task.seeds),
                output_type="latent",
                callback_on_step_end=step_callback(
                    "decoder", prior_steps + sum(runs[:k]), total, progress, should_stop, preview, self.preview_every
                ),
            )
            start = from_canvas(task.strength, task.seeds, steps) if task.strength < 1 else None
            latents, stopped = call_pipeline(
                pipe, kwargs, task, self._default_scheduler, pipe.movq, self._decode, start
            )
            images = latents if stopped else self._final(pipe, latents)
            out.append(paste_kept_all(uncropped(images, whole, box), whole))
            row += n
        return out

    def _preview(self, tasks, k, latents) -> list:
        """Previews for a batch of edits: only task k's (the one running), its first image."""
        shot = self._decode_preview(latents[:1])[0]
        return [shot if i == k else None for i in range(len(tasks))]

    def walkthrough(self, task: ImageTask, show_every: int = 5, row: int = 0) -> dict:
        """The same path as generate() for the task's images (its prior, scheduler, --tile, draft decoder and final
        decode, the same batch: a batch's sums differ from a single image's in their last bits), keeping what the
        explainer shows of image `row` at each stage: the prior's steps as the cosine between its running estimate
        and the embedding it ends on, and the decoder's latents decoded every `show_every` steps."""
        with self._lock, torch.no_grad():
            text = task.parts[0][0]
            tok = self.prior.tokenizer
            ids = tok(text, truncation=False).input_ids
            kept = tok(text, truncation=True, max_length=self.token_limit).input_ids
            text_emb = self.text_embeds([text])[0]
            estimates: list[torch.Tensor] = []

            def prior_step(pipe, i, t, kwargs):  # the first part's rows come first, one per seed
                estimates.append(pipe.prior.post_process_latents(kwargs["latents"])[row].float())

            image_emb, negative = self.embed_tasks([task], prior_step)
            shots: list[tuple[int, Image.Image]] = []

            def keep(pipe, i, t, kwargs):
                if (i + 1) % show_every == 0 or i + 1 == task.num_inference_steps:
                    shots.append((i + 1, self._decode(kwargs["latents"][row : row + 1])[0]))
                return kwargs

            pipe, default_scheduler = self.decoder, self._default_scheduler
            if task.draft and self.draft is not None:
                pipe, default_scheduler = self.draft, self.draft.scheduler
            kwargs = dict(
                image_embeds=image_emb,
                negative_image_embeds=negative,
                height=task.height,
                width=task.width,
                num_inference_steps=task.num_inference_steps,
                guidance_scale=task.guidance_scale,
                generator=generators(task.seeds),
                callback_on_step_end=keep,
                output_type="latent",
            )
            latents, _ = call_pipeline(pipe, kwargs, task, default_scheduler, pipe.movq, self._decode)
            images = self._final(pipe, latents, fast=task.fast_decode)
            redrawn: dict[int, tuple[list, Image.Image]] = {}  # attempt: its shots of `row` and its picture
            checks, negatives = self._image_checks([task]), [task.negative_prompt] * len(task.seeds)

            def again(rows, attempt):  # generate()'s redraws, keeping the shots of `row` when it is among them
                at, taken = (rows.index(row) if row in rows else None), []

                def keep_again(pipe, i, t, kwargs):
                    if at is not None and ((i + 1) % show_every == 0 or i + 1 == task.num_inference_steps):
                        taken.append((i + 1, self._decode(kwargs["latents"][at : at + 1])[0]))
                    return kwargs

                drawn = self._redecode(
                    pipe, kwargs, task.seeds, rows, attempt, task, default_scheduler, keep_again, checks, negatives
                )
                if at is not None:
                    redrawn[attempt] = (taken, drawn[at])
                return drawn

            image = self.redraw_hidden(images, checks, again, read=self.image_embeds)[row]
            shots = next((taken for taken, drawn in redrawn.values() if drawn is image), shots)
            cos = lambda a, b: float(torch.nn.functional.cosine_similarity(a.float(), b.float(), dim=0))  # noqa: E731
            final = estimates[-1] if estimates else image_emb[row]
            return dict(
                tokens=readable_tokens(tok, kept),
                token_ids=tuple(kept),
                cut=tok.decode(ids[len(kept) - 1 : -1]) if len(ids) > len(kept) else "",
                token_limit=self.token_limit,
                text_embedding=tuple(text_emb[:16].tolist()),
                image_embedding=tuple(image_emb[row, :16].tolist()),
                text_image_similarity=cos(text_emb, image_emb[row]),
                zero_image_similarity=cos(text_emb, self.zero_embed()[0]),
                steps=tuple(shots),
                image=image,
                prior_steps=tuple((i + 1, cos(e, final)) for i, e in enumerate(estimates)),
                seed=task.seeds[row],
                guidance_scale=task.guidance_scale,
                prompt=text,
            )

    @torch.no_grad()
    def _final(self, pipe, latents: torch.Tensor, fast: bool = False) -> list[Image.Image]:
        """The pipeline's own MoVQ decode and post-processing, DECODE_CHUNK images at a time: a batch of several
        users' jobs decoded in one call took 5.4x one job's time for 4x its images on 2 CPU cores (its
        activations outgrow the caches); in chunks, 4x. `fast` (a draft): the tiny latent decoder where the model
        has one."""
        out = []
        for chunk in latents.split(DECODE_CHUNK):
            if fast and self.fast_vae is not None:
                image = _fast_decode(self.fast_vae, chunk)
            else:
                image = pipe.movq.decode(chunk, force_not_quantize=True)["sample"]
            image = (image * 0.5 + 0.5).clamp(0, 1).cpu().permute(0, 2, 3, 1).float().numpy()  # as diffusers does
            out += pipe.numpy_to_pil(image)
        return out

    @torch.no_grad()
    def _decode(self, latents: torch.Tensor) -> list[Image.Image]:
        return to_pil(self.decoder.movq.decode(latents, force_not_quantize=True)["sample"])

    @torch.no_grad()
    def _decode_preview(self, latents: torch.Tensor) -> list[Image.Image]:
        """A progress preview: the tiny latent decoder where the model has one (a quarter of the MoVQ's cost)."""
        if self.fast_vae is None:
            return self._decode(latents)
        return to_pil(_fast_decode(self.fast_vae, latents))


DECODE_CHUNK = 4  # images per MoVQ decode call: one job's grid


def _fast_decode(vae, latents: torch.Tensor) -> torch.Tensor:
    """The tiny latent decoder (diffusers' AutoencoderTiny): (B, 3, H, W) in [-1, 1], as the MoVQ's decode gives."""
    return vae.decode(latents.to(vae.dtype)).sample.clamp(-1, 1)


def _decoder_steps(task: ImageTask) -> int:
    if task.init_image is None:
        return task.num_inference_steps
    return steps_run(task.num_inference_steps, task.strength)


def _chaos(emb: torch.Tensor, chaos: int, seed: int) -> torch.Tensor:
    """--chaos: push the embedding toward a seeded random direction, up to 60% of its length at 100."""
    g = torch.Generator("cpu").manual_seed((seed * 7919 + 17) % 2**32)
    z = torch.randn(emb.shape, generator=g).to(emb.device, emb.dtype)
    return emb + (chaos / 100) * 0.6 * emb.norm() * z / z.norm()


def readable_tokens(tokenizer, ids) -> tuple[str, ...]:
    """Each token as the words it stands for: CLIP's byte-level BPE writes "círculo" as `cÃŃrculo</w>` (its bytes
    as stand-in characters, `</w>` closing a word); a token that ends inside a character shows it as �."""
    special = set(tokenizer.all_special_tokens)
    out = []
    for token in tokenizer.convert_ids_to_tokens(list(ids)):
        if token in special:
            out.append(token)
            continue
        raw = bytes(_BYTE_OF.get(ch, 0x3F) for ch in token.removesuffix("</w>"))
        out.append(raw.decode("utf-8", errors="replace"))
    return tuple(out)


def _stand_ins() -> dict[str, int]:
    """Byte-level BPE's table (GPT-2, CLIP): printable bytes stand for themselves, the other 68 for the code points
    from 256 up, in byte order. Returned inverted: stand-in character -> byte."""
    kept = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for b in range(256):
        if b in kept:
            table[chr(b)] = b
        else:
            table[chr(256 + extra)] = b
            extra += 1
    return table


_BYTE_OF = _stand_ins()
