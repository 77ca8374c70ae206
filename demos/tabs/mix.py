"""Mix: up to 5 weighted texts and images, blended through Kandinsky's image embeddings; and describe."""

from __future__ import annotations

import gradio as gr

from demos.common import HUB_QUEUE, ImageFile, bind, current_origin, gallery_updates, origin, refuse, shown_as, start
from hub.types import DescribeRequest, MixItem, MixRequest

SLOTS = 5
PRESETS = {  # name -> weights per slot; which slots hold images is up to the user
    "variation": [1.0, 0, 0, 0, 0],
    "image fusion": [0.5, 0.5, 0, 0, 0],
    "fusion with text": [0.6, 0.4, 0, 0, 0],
}


async def mix(
    hub,
    text1,
    image1,
    weight1,
    text2,
    image2,
    weight2,
    text3,
    image3,
    weight3,
    text4,
    image4,
    weight4,
    text5,
    image5,
    weight5,
    seed,
    request: gr.Request,
    progress=gr.Progress(),
):
    """Blend up to 5 texts and images by weight into new images (Kandinsky prior interpolation).

    Args:
        text1: slot 1 text (or leave empty and give image1)
        image1: slot 1 image
        weight1: slot 1 weight (-1 to 2; 0 leaves the slot out)
        seed: seed of the first image (0: random)
    """
    slots = [
        text1,
        image1,
        weight1,
        text2,
        image2,
        weight2,
        text3,
        image3,
        weight3,
        text4,
        image4,
        weight4,
        text5,
        image5,
        weight5,
    ]
    items = []
    for i in range(SLOTS):
        text, image, weight = slots[3 * i : 3 * i + 3]
        text = (text or "").strip()
        if text and image is not None:
            raise refuse(f"slot {i + 1} has both a text and an image; keep one")
        if (text or image is not None) and weight:
            items.append(MixItem(text=text or None, image=image if not text else None, weight=float(weight)))
    if not items:
        raise refuse("put a text or an image (with a weight above 0) in at least one slot")
    req = MixRequest(items=tuple(items), seed=int(seed) if seed else None, preview=True, origin=origin(request))
    async for update in gallery_updates(await start(hub.mix(req)), progress, last=lambda r: r.prompt):
        yield update


async def describe(hub, image):
    """Four candidate prompts for an image, scored by the model's own CLIP.

    Args:
        image: the image to describe
    """
    if image is None:
        raise refuse("drop an image to describe first")
    result = await start(hub.describe(DescribeRequest(image, origin=current_origin())))
    return "\n".join(f"{i}. {p}  ({s:.3f})" for i, (p, s) in enumerate(zip(result.prompts, result.scores), 1))


def preset(name):
    return [gr.update(value=w) for w in PRESETS[name]]


def build(hub, t) -> None:
    gr.Markdown(t("mix_intro"))
    preset_choice = gr.Radio([(t(f"preset_{k.replace(' ', '_')}"), k) for k in PRESETS], label=t("preset"))
    slots, weights = [], []
    with gr.Row():
        for i in range(SLOTS):
            with gr.Column(min_width=160):
                text = gr.Textbox(label=t("slot_text"), lines=1)
                image = ImageFile(label=t("slot_image"), height=160, sources=["upload", "clipboard"])
                weight = gr.Slider(-1, 2, value=1.0 if i < 2 else 0.0, step=0.05, label=t("weight"))
                slots += [text, image, weight]
                weights.append(weight)
    with gr.Row():
        seed = gr.Number(value=0, precision=0, label=t("mix_seed"))
        go = gr.Button(t("mix"), variant="primary")
    gallery = gr.Gallery(
        label=t("output"), columns=2, format="png", height="auto", object_fit="contain", elem_classes=shown_as(hub)
    )
    info = gr.Markdown(label="details")
    used = gr.Textbox(label=t("weights_used"), interactive=False)
    with gr.Accordion(t("describe"), open=False):
        with gr.Row():
            to_describe = ImageFile(label=t("slot_image"), height=200)
            described = gr.Textbox(label=t("describe_out"), lines=5)
        describe_btn = gr.Button(t("describe"))

    preset_choice.change(preset, [preset_choice], weights, api_visibility="private")
    go.click(bind(hub, mix), slots + [seed], [gallery, info, used], api_name="mix", **HUB_QUEUE)
    describe_btn.click(bind(hub, describe), [to_describe], [described], api_name="describe", **HUB_QUEUE)
