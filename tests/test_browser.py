"""A real browser (Debian's chromium, driven by Playwright) clicks through the web hub."""

import shutil
from pathlib import Path

import pytest

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Debian's chromium is needed (make test installs it: apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=FLAGS)
        yield b
        b.close()


def test_generate_shows_the_image_with_a_progress_bar_and_tabs_are_captured(browser, server):
    url, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
    page.goto(url)
    page.get_by_label("Prompt").first.fill("a red circle above a blue square --seed 3")
    page.locator("#generate").click()
    page.locator("#gallery img").first.wait_for(timeout=60_000)
    page.locator("#details").get_by_text("seeds").wait_for(timeout=60_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "generate.png"), full_page=True)
    for tab, ready in (("Mix", "button:text-is('Mix')"), ("Learn", "button:text-is('Train')"), ("Chat tutor", "textarea"),
                       ("History", "button:text-is('Refresh')"), ("Compare", "table")):
        page.get_by_role("tab", name=tab).click()
        page.locator(f"#{tab.split()[0].lower()}-tab-panel {ready}, [role=tabpanel]:visible {ready}").first.wait_for(
            state="visible")
        page.screenshot(path=str(SHOTS / f"{tab.split()[0].lower()}.png"), full_page=True)
    page.close()


def test_spanish_browser_gets_spanish_labels(browser, server):
    url, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="es-ES")
    page.goto(url)
    page.get_by_role("button", name="Generar", exact=True).wait_for(timeout=30_000)
    assert page.get_by_role("tab", name="Mezclar").count() == 1
    page.screenshot(path=str(SHOTS / "generate-es.png"), full_page=True)
    page.close()
