"""Request and result dataclasses: the only vocabulary that crosses from front ends into the core.

Field names follow diffusers/transformers. Requests are frozen; `None` means "the model's default".
Images cross as PIL images, raw bytes or file paths; front ends never see tensors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Union

from PIL import Image

Lane = Literal["fast", "relax"]
# the vocabulary front ends offer in their pickers: one list for the web hub, the bot and the engines
ASPECTS = ("1:1", "16:9", "9:16", "3:2", "2:3", "4:3", "3:4")
LIVE_PAUSE_S = 0.15  # live mode's debounce: a pause in typing this long sends a live request (each key restarts it)
SCHEDULERS = (  # diffusers scheduler classes a request may name (hub/engines/common.py swaps them in)
    "DDPMScheduler",
    "DDIMScheduler",
    "DPMSolverMultistepScheduler",
    "EulerDiscreteScheduler",
    "EulerAncestralDiscreteScheduler",
    "UniPCMultistepScheduler",
    "LCMScheduler",
)
Strength = Literal["subtle", "strong"]
ImageInput = Union[Image.Image, bytes, str, Path]

STATUSES: tuple[str, ...] = ("queued", "running", "done", "failed", "cancelled")
FINISHED: tuple[str, ...] = ("done", "failed", "cancelled")


@dataclass(frozen=True)
class Origin:
    """Who asked and from where: used for fairness, caps and the history view."""

    user: str = "local"
    surface: str = "api"  # web | discord | cli | api
    lane: Lane = "fast"
    # where to deliver the result if the server restarts before the job ends (plain JSON; e.g. a Discord
    # interaction's application id, token and channel); kept with the job until it ends
    reply: Any = None
    # a server admin (Discord: the Administrator permission; the host's own CLI): may open, cancel and share any job
    admin: bool = False
    # whether the jobs this request makes are shared (anyone with the job id can view, reuse and vary them);
    # None: the server's default (LIENZO_SHARE)
    share: bool | None = None


@dataclass(frozen=True)
class ImagineRequest:
    """Text to image. Midjourney flags inside `prompt` (--ar, --seed, --no, ...) override these fields."""

    prompt: str
    negative_prompt: str = ""
    model: str | None = None
    num_images: int = 4
    aspect: str | None = None  # e.g. "16:9", from a front end's picker; a --ar/--aspect in the prompt wins
    width: int | None = None
    height: int | None = None
    num_inference_steps: int | None = None
    guidance_scale: float | None = None
    prior_num_inference_steps: int | None = None
    prior_guidance_scale: float | None = None
    seed: int | None = None
    scheduler: str | None = None
    images: tuple[ImageInput, ...] = ()  # image prompts (attachments), mixed in with weight --iw
    parse_flags: bool = True
    preview: bool = False  # stream preview images while it runs (web, Discord); costs a decode each time
    draft: bool = False  # the model's few-step draft settings (as --draft); Enhance one image afterwards
    # live generation as you type: a draft that replaces its user's previous live job (queued: dropped at once;
    # running: stopped at its next step), so a user never holds more than one live request. A front end sends one
    # once typing has paused LIVE_PAUSE_S
    live: bool = False
    origin: Origin = field(default_factory=Origin)


@dataclass(frozen=True)
class MixItem:
    """One ingredient of a mix: a text or an image, with its weight."""

    text: str | None = None
    image: ImageInput | None = None
    weight: float = 1.0


@dataclass(frozen=True)
class MixRequest:
    """Kandinsky's interpolation of up to 5 weighted texts and images (Midjourney's /blend and ::)."""

    items: tuple[MixItem, ...]
    negative_prompt: str = ""
    model: str | None = None
    num_images: int = 4
    width: int | None = None
    height: int | None = None
    num_inference_steps: int | None = None
    guidance_scale: float | None = None
    prior_num_inference_steps: int | None = None
    prior_guidance_scale: float | None = None
    seed: int | None = None
    preview: bool = False  # stream preview images while it runs (web, Discord); costs a decode each time
    origin: Origin = field(default_factory=Origin)


@dataclass(frozen=True)
class EnhanceRequest:
    """Image `index` (0-based) of draft job `job_id` drawn again at full steps: the same seed and image
    embedding (the draft's prior settings), the model's own decoder steps and scheduler."""

    job_id: str
    index: int
    preview: bool = False
    origin: Origin = field(default_factory=Origin)


@dataclass(frozen=True)
class VaryRequest:
    """New images like image `index` (0-based) of job `job_id`: subtle keeps composition, strong only the idea."""

    job_id: str
    index: int
    strength: Strength = "strong"
    num_images: int = 4
    seed: int | None = None
    # None: the parent job's own (its steps, guidance, negative prompt and scheduler carry over)
    num_inference_steps: int | None = None
    guidance_scale: float | None = None
    # Remix: a new prompt for the variation (the picture and the new text mixed); None keeps the parent's idea
    prompt: str | None = None
    preview: bool = False  # stream preview images while it runs (web, Discord); costs a decode each time
    origin: Origin = field(default_factory=Origin)


Direction = Literal["left", "right", "up", "down"]
DIRECTIONS: tuple[str, ...] = ("left", "right", "up", "down")
ZOOM_RANGE = (1.05, 2.0)  # Zoom Out's custom factor, as Midjourney's (1.5x and 2x are its buttons)
# Vary (Region)'s named areas (hub/edits.py draws them); object-N: the shapes the bundled mini's detector finds
AREAS: tuple[str, ...] = ("left", "right", "top", "bottom", "centre", "top-left", "top-right", "bottom-left")
AREAS += ("bottom-right", "object-1", "object-2")
CREATIVE_STRENGTH = 0.55  # Upscale (Creative): how much img2img redraws (UpscaleRequest's default, 0.3, is subtle)


@dataclass(frozen=True)
class RegionRequest:
    """Vary (Region): repaint the white area of `mask` (any size: it is stretched over the image), or the named
    `area` (one of Hub.regions: "left", "top-right", "centre", "object-1" ...), on image `index` of job `job_id`,
    following `prompt` (None or empty: the parent's prompt); the rest is kept pixel for pixel."""

    job_id: str
    index: int
    mask: ImageInput | None = None
    prompt: str | None = None
    area: str | None = None
    num_images: int = 4
    seed: int | None = None
    preview: bool = False
    origin: Origin = field(default_factory=Origin)


@dataclass(frozen=True)
class Region:
    """An area Vary (Region) can repaint without a brush: `name` for RegionRequest.area, its box as fractions of the
    picture (left, top, right, bottom); an object the detector found also has its colour and shape."""

    name: str
    box: tuple[float, float, float, float]
    colour: str | None = None
    shape: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)  # a found shape by language: {"es": "la estrella roja"}


@dataclass(frozen=True)
class ZoomRequest:
    """Zoom Out: the image shrunk by `factor` into the middle of a canvas of its own size, the border drawn anew."""

    job_id: str
    index: int
    factor: float = 2.0
    prompt: str | None = None  # None: the parent's prompt
    num_images: int = 4
    seed: int | None = None
    preview: bool = False
    origin: Origin = field(default_factory=Origin)


@dataclass(frozen=True)
class PanRequest:
    """Pan: the canvas extended by half its side toward `direction` (up to the model's largest side), the new strip
    drawn to continue the picture."""

    job_id: str
    index: int
    direction: Direction
    prompt: str | None = None  # None: the parent's prompt
    num_images: int = 4
    seed: int | None = None
    preview: bool = False
    origin: Origin = field(default_factory=Origin)


@dataclass(frozen=True)
class UpscaleRequest:
    """Image `index` of job `job_id` at twice the size, re-detailed by img2img."""

    job_id: str
    index: int
    factor: int = 2
    strength: float = 0.3
    seed: int | None = None
    preview: bool = False  # stream preview images while it runs (web, Discord); costs a decode each time
    origin: Origin = field(default_factory=Origin)


@dataclass(frozen=True)
class DescribeRequest:
    image: ImageInput
    model: str | None = None
    origin: Origin = field(default_factory=Origin)


@dataclass(frozen=True)
class ShortenRequest:
    prompt: str
    model: str | None = None
    origin: Origin = field(default_factory=Origin)


@dataclass(frozen=True)
class ExpandRequest:
    prompt: str
    model: str | None = None  # a text model; None: the default text model
    max_new_tokens: int = 60
    seed: int | None = None
    origin: Origin = field(default_factory=Origin)


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[ChatMessage, ...]
    model: str | None = None
    max_new_tokens: int = 400
    temperature: float = 0.7
    seed: int | None = None
    origin: Origin = field(default_factory=Origin)


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a job's life. `stage` is queued | running | prior | decoder | text | done | failed | cancelled."""

    job_id: str
    stage: str
    step: int = 0
    total: int = 0
    position: int | None = None  # place in the queue while queued (1 = next)
    preview: Image.Image | None = None
    text: str | None = None  # streamed text so far (chat, expand)
    message: str | None = None
    data: object = None  # stage "turn": what a piece of a longer job produced (a lesson's frame)


@dataclass(frozen=True)
class ImageResult:
    job_id: str
    kind: str
    model: str
    images: tuple[Path, ...]
    grid: Path | None
    seeds: tuple[int, ...]
    width: int
    height: int
    prompt: str
    negative_prompt: str
    parameters: tuple[str, ...]  # A1111-style text stored in each PNG
    notes: tuple[str, ...] = ()  # e.g. "placeholder weights": things the user should know


@dataclass(frozen=True)
class DescribeResult:
    prompts: tuple[str, ...]  # best first
    scores: tuple[float, ...]


@dataclass(frozen=True)
class TokenInfo:
    text: str
    weight: float  # share of the prompt's meaning this word carries (0..1), by ablation
    kept: bool  # False when the text encoder cuts it off


@dataclass(frozen=True)
class ShortenResult:
    words: tuple[TokenInfo, ...]
    shortened: str
    token_count: int
    token_limit: int
    cut: str  # the part the text encoder never sees


@dataclass(frozen=True)
class TextResult:
    job_id: str
    text: str
    model: str
    added: str = ""  # for expand: what the model added to the user's words


@dataclass(frozen=True)
class JobRecord:
    """A job as the store holds it."""

    id: str
    user: str
    surface: str
    kind: str
    model: str
    request: dict[str, Any]
    seeds: tuple[int, ...]
    status: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    images: tuple[Path, ...] = ()
    grid: Path | None = None
    parent_id: str | None = None
    parent_index: int | None = None
    width: int = 0
    height: int = 0
    attempts: int = 0  # how many times it started running (a crash mid-job makes it run again, once)
    lane: str = "fast"
    shared: bool = False  # anyone with its id may view, reuse and vary it; only its owner (or an admin) manages it


@dataclass(frozen=True)
class WalkthroughRequest:
    """The mini pipeline step by step, for the explainer."""

    prompt: str
    seed: int = 0
    model: str | None = None  # a Kandinsky model; default the bundled mini
    num_inference_steps: int | None = None
    show_every: int = 5  # decode the latents every N decoder steps
    origin: Origin = field(default_factory=Origin)  # who asked: the job counts against their cap
    # Explain this image: one image of a job drawn from words, walked through with that job's own settings and
    # that image's seed (prompt, seed and model are then the job's; the viewer must be able to open it)
    job_id: str | None = None
    index: int = 0  # which image of the job, from 0
    guidance_scale: float | None = None  # the decoder's guidance; None: the model's (or the job's)


@dataclass(frozen=True)
class WalkthroughResult:
    tokens: tuple[str, ...]  # what the tokenizer made of the prompt (start and end included)
    token_ids: tuple[int, ...]
    cut: str  # what fell past the text encoder's limit
    token_limit: int
    text_embedding: tuple[float, ...]  # the first values of the projected text embedding
    image_embedding: tuple[float, ...]  # the first values of the prior's image embedding
    text_image_similarity: float  # cosine between the prompt's text embedding and the prior's image embedding
    zero_image_similarity: float  # the same for the unconditional (black image) embedding, as a baseline
    steps: tuple[tuple[int, Image.Image], ...]  # (decoder step, latents decoded at that step)
    image: Image.Image
    prior_steps: tuple[tuple[int, float], ...] = ()  # (prior step, cosine of its estimate to the final embedding)
    seed: int = 0
    guidance_scale: float = 0.0
    prompt: str = ""  # what was walked through (the job's words for Explain this image)


@dataclass(frozen=True)
class LessonRequest:
    """One of the Learn tab's live demos: train a teaching model from scratch and stream what it learns."""

    demo: str  # gan | vae | chars | pixelcnn | wavenet | noise | diffusion2d (see hub.explainer.lessons)
    params: dict = field(default_factory=dict)  # the demo's settings; missing ones take its defaults
    points: tuple[tuple[float, float], ...] | None = None  # the learner's 2-D data, for data="custom"
    image: Image.Image | None = None  # the picture the noise demo noises
    origin: Origin = field(default_factory=Origin)  # who asked: the job counts against their cap


@dataclass(frozen=True)
class LessonFrame:
    """What a lesson shows at one moment: plain values (pictures, numbers, text), never the model itself."""

    step: int
    total: int
    values: dict
    final: bool = False  # the last frame: what the trained model does (samples, maps, text)


@dataclass(frozen=True)
class LimitsRequest:
    """One of the systems lesson's live limits (hub.explainer.limits.CASES): its prompt drawn by the mini with
    8 seeds from `seed`, each picture checked by the project's detector."""

    case: str  # relation | binding | background
    lang: str = "en"  # the prompt's language
    seed: int = 0
    origin: Origin = field(default_factory=Origin)


@dataclass(frozen=True)
class LimitsResult:
    case: str
    prompt: str
    job_ids: tuple[str, ...]  # the two grids, stored like any job: History shows them, Explain opens them
    images: tuple[Path, ...]
    seeds: tuple[int, ...]
    verdicts: tuple[Mapping[str, bool], ...]  # per picture: check -> it did what was asked
    held: Mapping[str, int]  # check -> pictures that passed it, of len(images)


@dataclass(frozen=True)
class TutorRequest:
    """A question for the tutor (course notes, en/es), with the conversation so far (user and assistant turns)."""

    question: str
    history: tuple[ChatMessage, ...] = ()
    origin: Origin = field(default_factory=Origin)


@dataclass(frozen=True)
class LearnCatalogue:
    """What a front end needs to lay out the Learn tab, without importing the lessons: each lesson's default
    and allowed settings, the presets behind its controls, the notes' folder (texts/<lang>/<topic>.md)."""

    defaults: Mapping[str, Mapping[str, Any]]
    settings: Mapping[str, Mapping[str, Any]]
    data: tuple[str, ...]  # the 2-D datasets of the GAN and diffusion lessons
    schedules: tuple[str, ...]  # noise schedules
    gan_presets: Mapping[str, Any]  # name -> preset (noise_dim, lr_g, lr_d, d_steps, loss)
    gan_losses: tuple[str, ...]
    char_presets: Mapping[str, Any]  # model kind -> preset (steps)
    extent: float  # 2-D points live in [-extent, extent]^2
    texts: Path
