"""The review page in a real browser (headless Chromium driven by Selenium).

A tiny campaign on generated PNG files: answer (click and keyboard), abstain,
stop the server, restart it, hand out the next round -- checking the
checkpoint after each step. The page works with the per-launch token of the
address the server prints; without it, or for a sample that is not an open
question, the API answers 403 / 409 with a JSON error and the checkpoint is
unchanged. Also saves the screenshot of the docs.
"""

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "_static" / "review.png"

webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed"
)
if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.skip(
        "chromium and chromium-driver are not installed (.ci/run installs them with "
        "apt-get where it can)",
        allow_module_level=True,
    )

from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CLASSES = ["bkl", "mel", "nv"]


def _lesion(rng, k, side=48):
    """A skin-coloured square with a dark blob whose tint tells the class."""
    yy, xx = np.mgrid[:side, :side] / side
    cy, cx = 0.5 + rng.normal(0, 0.08, 2)
    r = rng.uniform(0.2, 0.35)
    blob = np.exp(-((((yy - cy) ** 2 + (xx - cx) ** 2) / r**2) ** 2))
    skin = np.array([224, 172, 150]) + rng.normal(0, 6, (side, side, 3))
    tint = np.array([[120, 80, 60], [60, 30, 40], [150, 90, 50]][k])
    pixels = skin * (1 - blob[..., None]) + tint * blob[..., None]
    return pixels + rng.normal(0, 8, pixels.shape)


def _campaign(folder):
    """Fit a 90-image, 3-class campaign on PNG paths (no oracle: ask/tell)."""
    from noisyactive.active import ActiveLabelCleaner
    from noisyactive.classifiers import NetClassifier
    from noisyactive.filtering import NoisyLabelFilter

    rng = np.random.default_rng(0)
    (folder / "img").mkdir()
    paths, labels = [], []
    for i in range(90):
        k = i % 3
        pixels = _lesion(rng, k)
        path = folder / "img" / f"lesion_{i:03d}.png"
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(path)
        paths.append(str(path))
        labels.append(CLASSES[k] if rng.random() > 0.3 else CLASSES[(k + 1) % 3])
    net = dict(module="small_cnn", image_size=12, batch_size=32, random_state=0)
    cleaner = ActiveLabelCleaner(
        estimator=NoisyLabelFilter(
            max_epochs=2, num_gradual=1, vog_window=2, forget_rate=0.2, **net
        ),
        classifier=NetClassifier(max_epochs=2, **net),
        oracle=None,
        batch_size=4,
        n_rounds=2,
        checkpoint=str(folder / "campaign"),
        random_state=0,
    )
    cleaner.fit(paths, labels)
    return folder / "campaign"


def _save_screenshot(driver, shot):
    """The docs' screenshot, replaced only when the page looks different (a
    re-render differs in a few anti-aliased pixels; keep the tree clean)."""
    driver.save_screenshot(str(shot))
    new = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
    if SCREENSHOT.exists():
        old = np.asarray(Image.open(SCREENSHOT).convert("RGB"), dtype=float)
        if old.shape == new.shape and np.abs(old - new).mean() < 0.5:
            return
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)


def _stored(checkpoint):
    """What a fresh process reads from the checkpoint."""
    from noisyactive.active import load_cleaner

    cleaner = load_cleaner(checkpoint)
    return cleaner, [row["index"] for row in cleaner.pending_table()]


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="noisyactive-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(service=service, options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _settled(driver):
    """Not training, and showing either questions or the end-of-round box."""
    try:
        if driver.find_element(By.ID, "training").is_displayed():
            return False
        return bool(_shown(driver)) or driver.find_element(By.ID, "done").is_displayed()
    except StaleElementReferenceException:  # the page is reloading
        return False


def _open(driver, server):
    driver.get(server.url)
    WebDriverWait(driver, 120).until(_settled)


def _shown(driver, where="#items"):
    """The cards of the open questions (or of ``#answered-items``)."""
    return [
        int(e.get_attribute("data-index"))
        for e in driver.find_elements(By.CSS_SELECTOR, f"{where} .item[data-index]")
    ]


def _files(checkpoint):
    """Every checkpoint file's bytes (the locks aside)."""
    skip = {"campaign.lock", "lock-holder.json", "review.lock"}
    return {
        p.name: p.read_bytes()
        for p in sorted(checkpoint.iterdir())
        if p.is_file() and p.name not in skip
    }


_FETCH = """
const [url, body, withToken, done] = arguments;
const config = JSON.parse(document.getElementById("review-config").textContent);
const headers = {"Content-Type": "application/json"};
if (withToken) headers[config.tokenHeader] = config.token;
fetch(url, {method: "POST", headers: headers, body: JSON.stringify(body)})
  .then(async (r) => done([r.status, r.headers.get("Content-Type"), await r.json()]))
  .catch((e) => done([0, "", String(e)]));
"""


def _post_from_page(driver, url, body, *, token):
    """POST from the page's own script context: ``(status, type, json)``."""
    return driver.execute_async_script(_FETCH, url, body, token)


def _images_loaded(driver):
    return driver.execute_script(
        "const imgs = Array.from(document.querySelectorAll('.item img'));"
        "return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);"
    )


def _answered(driver, n):
    WebDriverWait(driver, 20).until(
        lambda d: (
            d.find_element(By.ID, "progress").get_attribute("data-answered") == str(n)
        )
    )


def test_review_page_end_to_end(tmp_path, browser):
    from noisyactive.review import ReviewServer

    checkpoint = _campaign(tmp_path)
    server = ReviewServer(checkpoint, port=0).start()  # hands out round 1
    try:
        _open(browser, server)
        first = _shown(browser)
        assert len(first) == 4
        assert _stored(checkpoint)[1] == first
        assert "0 of 4 answered" in browser.find_element(By.ID, "progress").text
        # the address carries the token; the images load with it (and the
        # page's strict Content-Security-Policy lets its own script run)
        assert "/?token=" in server.url and server.token in browser.current_url
        WebDriverWait(browser, 20).until(_images_loaded)
        _save_screenshot(browser, tmp_path / "review.png")

        # without the token, or for a sample that is not an open question,
        # the API refuses with a JSON error and records nothing
        before = _files(checkpoint)
        browser.set_script_timeout(20)
        answer = {"index": first[0], "label": "mel"}
        status, kind, body = _post_from_page(browser, "api/answer", answer, token=False)
        assert status == 403 and kind == "application/json"
        assert "token" in body["error"]
        other = next(i for i in range(90) if i not in first)
        status, kind, body = _post_from_page(
            browser, "api/answer", {"index": other, "label": "mel"}, token=True
        )
        assert status == 409 and kind == "application/json"
        assert "not an open question" in body["error"]
        status, _, body = _post_from_page(
            browser, "api/answer", {"index": first[0] + 0.5, "label": "mel"}, token=True
        )
        assert status == 400 and "JSON integer" in body["error"]
        assert _files(checkpoint) == before
        assert _stored(checkpoint)[1] == first

        # answer with a click: saved at once, before any retraining
        item = browser.find_element(By.CSS_SELECTOR, f'.item[data-index="{first[0]}"]')
        item.find_element(By.CSS_SELECTOR, 'button[data-label="mel"]').click()
        _answered(browser, 1)
        cleaner, open_ = _stored(checkpoint)
        assert open_ == first[1:] and cleaner.n_rounds_ == 0

        # the keyboard: arrows move the focus, "3" answers nv
        body = browser.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.ARROW_RIGHT)
        focused = browser.find_element(By.CSS_SELECTOR, ".item.focused")
        assert int(focused.get_attribute("data-index")) == first[2]
        body.send_keys(Keys.ARROW_LEFT)
        body.send_keys("3")
        _answered(browser, 2)
        assert _stored(checkpoint)[1] == first[2:]

        # click to zoom, Escape closes
        item = browser.find_element(By.CSS_SELECTOR, f'.item[data-index="{first[2]}"]')
        item.find_element(By.TAG_NAME, "img").click()
        assert browser.find_element(By.ID, "zoom").is_displayed()
        body.send_keys(Keys.ESCAPE)
        assert not browser.find_element(By.ID, "zoom").is_displayed()

        # abstain ("not sure")
        item = browser.find_element(By.CSS_SELECTOR, f'.item[data-index="{first[2]}"]')
        item.find_element(By.CSS_SELECTOR, 'button[data-label=""]').click()
        _answered(browser, 3)
        assert _stored(checkpoint)[1] == first[3:]
        assert _shown(browser) == first[3:]
    finally:
        server.stop()

    # a restarted server shows only what is still open
    server = ReviewServer(checkpoint, port=0).start()
    try:
        _open(browser, server)
        assert _shown(browser) == first[3:]
        assert "3 of 4 answered" in browser.find_element(By.ID, "progress").text
        item = browser.find_element(By.CSS_SELECTOR, f'.item[data-index="{first[3]}"]')
        item.find_element(By.CSS_SELECTOR, 'button[data-label="bkl"]').click()
        _answered(browser, 4)
        assert _stored(checkpoint)[1] == []

        # next round: retrain in the background, then the new questions
        WebDriverWait(browser, 20).until(
            EC.element_to_be_clickable((By.ID, "next-round"))
        ).click()
        WebDriverWait(browser, 120).until(
            lambda d: _settled(d) and "round 2" in d.title
        )
        second = _shown(browser)
        cleaner, open_ = _stored(checkpoint)
        assert cleaner.n_rounds_ == 1 and open_ == second
        assert not set(second) & set(first)
        labels = {int(i): str(v) for i, v in enumerate(cleaner.labels_)}
        assert [labels[first[0]], labels[first[1]], labels[first[3]]] == [
            "mel",
            "nv",
            "bkl",
        ]
        assert cleaner.budget_used_ == 3  # the abstention is not counted

        # the address without its token shows an error, not the questions
        before = _files(checkpoint)
        browser.get(server.url.split("?")[0])
        text = browser.find_element(By.TAG_NAME, "body").text
        assert "token" in text and not _shown(browser)
        assert _files(checkpoint) == before
    finally:
        server.stop()


def _journal(checkpoint):
    import json

    lines = (checkpoint / "answers.jsonl").read_text().splitlines()
    return [json.loads(line)["entry"] for line in lines]


def test_an_answer_is_changed_on_the_page_and_survives_a_restart(tmp_path, browser):
    from noisyactive.review import ReviewServer

    checkpoint = _campaign(tmp_path)
    server = ReviewServer(checkpoint, port=0).start()
    try:
        _open(browser, server)
        first = _shown(browser)
        item = browser.find_element(By.CSS_SELECTOR, f'.item[data-index="{first[0]}"]')
        item.find_element(By.CSS_SELECTOR, 'button[data-label="mel"]').click()
        _answered(browser, 1)
        # the answered card stays visible, collapsed, with its answer
        assert _shown(browser, "#answered-items") == [first[0]]
        card = browser.find_element(
            By.CSS_SELECTOR, f'#answered-items .item[data-index="{first[0]}"]'
        )
        assert card.find_element(By.CSS_SELECTOR, ".answer-text").text == "mel"
        assert not card.find_element(
            By.CSS_SELECTOR, 'button[data-label="nv"]'
        ).is_displayed()
        card.find_element(By.CSS_SELECTOR, "button.change").click()  # undo / change
        card.find_element(By.CSS_SELECTOR, 'button[data-label="nv"]').click()
        WebDriverWait(browser, 20).until(
            lambda d: card.find_element(By.CSS_SELECTOR, ".answer-text").text == "nv"
        )
        assert "1 of 4 answered" in browser.find_element(By.ID, "progress").text
        assert _shown(browser) == first[1:]
    finally:
        server.stop()

    server = ReviewServer(checkpoint, port=0).start()  # a restart
    try:
        _open(browser, server)
        assert _shown(browser) == first[1:]
        assert _shown(browser, "#answered-items") == [first[0]]
        card = browser.find_element(By.CSS_SELECTOR, "#answered-items .item")
        assert card.find_element(By.CSS_SELECTOR, ".answer-text").text == "nv"
    finally:
        server.stop()
    cleaner, open_ = _stored(checkpoint)
    assert str(cleaner.labels_[first[0]]) == "nv" and open_ == first[1:]
    assert cleaner.budget_used_ == 1  # the change is not a second label
    answer, change = _journal(checkpoint)
    assert answer["indices"] == change["indices"] == [first[0]]
    assert "amendment" not in answer
    assert change["amendment"] and change["amends"] == [answer["seq"]]
    assert change["labels"] == [CLASSES.index("nv")]
