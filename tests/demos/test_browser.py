"""A real browser (Debian's chromium, driven by Playwright) clicks through the web hub."""

import re
import shutil

import pytest

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Debian's chromium is needed (make test installs it: apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=FLAGS)
        yield b
        b.close()


def test_generate_shows_the_image_with_a_progress_bar_and_tabs_are_captured(browser, server, docs_dir):
    shots = docs_dir / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    url, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
    page.goto(url)
    page.get_by_label("Prompt").first.fill("a red circle above a blue square --ar 16:9 --seed 3")
    page.locator("#generate").click()
    page.locator("#gallery img").first.wait_for(timeout=60_000)
    page.locator("#details").get_by_text("seeds").wait_for(timeout=60_000)
    # shown whole (fitted, not cropped to a square) and, at the mini's 80x48, with crisp pixels
    fit, rendering, width, height = page.locator("#gallery img").first.evaluate(
        "i => [getComputedStyle(i).objectFit, getComputedStyle(i).imageRendering, i.naturalWidth, i.naturalHeight]"
    )
    assert (fit, rendering) == ("contain", "pixelated") and width * 3 == height * 5
    page.screenshot(path=str(shots / "generate.png"), full_page=True)
    for tab, ready in (
        ("Mix", "button:text-is('Mix')"),
        ("Learn", "button:text-is('Train')"),
        ("Chat tutor", "textarea"),
        ("History", "button:text-is('Refresh')"),
        ("Compare", "table"),
    ):
        page.get_by_role("tab", name=tab).click()
        page.locator(f"#{tab.split()[0].lower()}-tab-panel {ready}, [role=tabpanel]:visible {ready}").first.wait_for(
            state="visible"
        )
        page.screenshot(path=str(shots / f"{tab.split()[0].lower()}.png"), full_page=True)
    page.close()


def test_spanish_browser_gets_spanish_labels(browser, server, docs_dir):
    shots = docs_dir / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    url, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="es-ES")
    page.goto(url)
    page.get_by_role("button", name="Generar", exact=True).wait_for(timeout=30_000)
    assert page.get_by_role("tab", name="Mezclar").count() == 1
    page.screenshot(path=str(shots / "generate-es.png"), full_page=True)
    page.close()


LEARN_SECTIONS = (
    ("GAN", "gan"),
    ("VAE", "vae"),
    ("RNN / LSTM · Transformer", "chars"),
    ("Autoregressive", "autoregressive"),
    ("Diffusion", "diffusion"),
    ("Pipeline walkthrough", "walkthrough"),
    ("Architectures", "architectures"),
)


def test_every_explainer_section_opens_on_a_result_and_the_gan_learns_a_drawing(browser, server, docs_dir):
    shots = docs_dir / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    """Each Learn section is screenshotted as a learner first sees it (the shipped run of its defaults); the
    walkthrough runs the mini; then the learner draws two strokes, trains the GAN on them and sees it finish."""
    url, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="en-US")
    page.goto(url)
    page.get_by_role("tab", name="Learn").click()
    for name, slug in LEARN_SECTIONS:
        page.get_by_role("tab", name=name, exact=True).click()
        panel = page.locator("[role=tabpanel]:visible").last
        if slug == "walkthrough":
            panel.get_by_role("button", name="Run", exact=True).click()
            panel.get_by_text("cosine(text embedding").wait_for(timeout=60_000)
        elif slug != "architectures":
            panel.locator("img").first.wait_for(state="visible", timeout=30_000)  # the shipped result is on show
            assert panel.get_by_text(re.compile(r"\[[\d.]+ s → [\d.]+ s\]")).count() >= 1
        page.screenshot(path=str(shots / f"learn-{slug}.png"), full_page=True)

    page.get_by_role("tab", name="GAN", exact=True).click()
    panel = page.locator("[role=tabpanel]:visible").last
    panel.get_by_text("Or draw your data").first.click()  # open the accordion
    panel.get_by_role("button", name="Brush").first.click()
    canvas = panel.locator("canvas").first
    canvas.wait_for(state="visible")
    box = canvas.bounding_box()  # the editor's viewport; the 240-px pad sits in its middle
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for (x0, y0), (x1, y1) in (((-90, -60), (90, -70)), ((-70, 60), (80, 50))):  # two strokes, in pixels
        page.mouse.move(cx + x0, cy + y0)
        page.mouse.down()
        for k in range(1, 11):
            page.mouse.move(cx + x0 + (x1 - x0) * k / 10, cy + y0 + (y1 - y0) * k / 10)
        page.mouse.up()
    panel.get_by_label("Data").first.click()
    page.get_by_role("option", name="custom").click()
    panel.get_by_role("button", name="Train", exact=True).click()
    # the shipped note says "modes covered"; a run on drawn points ends on a note without it
    panel.get_by_text(re.compile(r"^step 2500/2500 · [\d.]+ s$")).wait_for(timeout=120_000)
    page.screenshot(path=str(shots / "learn-gan-drawn.png"), full_page=True)
    page.close()


def test_live_mode_follows_the_prompt_as_it_is_typed(browser, server):
    """Typed a key at a time with Live on: the grid follows, ending on a draft of the whole prompt, and the Hub
    never holds more than one live request of this visitor beyond the one it is stopping."""
    url, hub = server
    held, original = [], hub.imagine

    async def watched(req):  # the server's own Hub, observed at each live submission
        handle = await original(req)
        if req.live:
            held.append(hub.scheduler.user_jobs(req.origin.user))
        return handle

    hub.imagine = watched
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
        page.goto(url)
        page.locator("#live input").check()
        typed = "a red circle above a blue square --seed 4"
        page.get_by_label("Prompt").first.press_sequentially(typed, delay=40)
        job_box = page.get_by_label("Job id")
        seen = []
        for _ in range(len(typed)):  # each grid that lands, until the one of the whole prompt
            page.wait_for_function(
                "([el, old]) => el.value && el.value !== old", arg=[job_box.element_handle(), seen[-1] if seen else ""]
            )
            seen.append(job_box.input_value())
            if hub.get_job(seen[-1]).request["prompt"] == typed:
                break
        final = hub.get_job(seen[-1])
        assert final.request["prompt"] == typed and final.request["live"] and final.request["draft"]
        page.locator("#gallery img").first.wait_for()
        page.close()
    finally:
        hub.imagine = original
    assert held and max(held) <= 2 and len(held) < len(typed)  # the pause, not each key, starts a redraw
