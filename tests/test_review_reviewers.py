"""Two reviewers on one review page (headless Chromium): each sees only the
samples they have not answered; both sets of answers, with their annotator,
are in the checkpoint after a server restart."""

import pytest

browser_test = pytest.importorskip("test_review_browser")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

browser = browser_test.browser  # the fixture
STORE = "noisyactive-reviewer"


def _as(driver, server, name):
    """Open the page as ``name``: typed into the form when the browser
    remembers nobody, else remembered."""
    driver.get(server.url)
    if name is None:
        return
    WebDriverWait(driver, 60).until(
        lambda d: (
            d.find_elements(By.ID, "reviewer-name") or "reviewer=" in d.current_url
        )
    )
    if driver.find_elements(By.ID, "reviewer-name"):
        driver.find_element(By.ID, "reviewer-name").send_keys(name)
        driver.find_element(By.CSS_SELECTOR, "#reviewer-form button").click()
    WebDriverWait(driver, 60).until(lambda d: f"reviewer={name}" in d.current_url)
    WebDriverWait(driver, 120).until(browser_test._settled)


def _answer(driver, index, label):
    n = len(browser_test._shown(driver, "#answered-items"))
    item = driver.find_element(By.CSS_SELECTOR, f'#items .item[data-index="{index}"]')
    item.find_element(By.CSS_SELECTOR, f'button[data-label="{label}"]').click()
    WebDriverWait(driver, 20).until(
        lambda d: len(browser_test._shown(d, "#answered-items")) == n + 1
    )


def test_two_reviewers_answer_the_same_round(tmp_path, browser):
    from noisyactive.active import load_cleaner
    from noisyactive.review import ReviewServer

    checkpoint = browser_test._campaign(tmp_path)
    cleaner = load_cleaner(checkpoint)
    cleaner.set_params(max_answers_per_sample=2)  # two reads per sample
    with cleaner.campaign_.locked():
        cleaner.campaign_.save()
    server = ReviewServer(checkpoint, port=0).start()  # hands out round 1
    try:
        browser.get(server.url)
        browser.execute_script(f"localStorage.removeItem('{STORE}')")
        _as(browser, server, "alice")
        batch = browser_test._shown(browser)
        assert len(batch) == 4
        _answer(browser, batch[0], "bkl")
        _answer(browser, batch[1], "mel")
        browser.execute_script(f"localStorage.removeItem('{STORE}')")
        _as(browser, server, "bob")
        assert sorted(browser_test._shown(browser)) == sorted(batch)  # all 4
        for i in batch[1:]:
            _answer(browser, i, "nv")
        browser.execute_script(f"localStorage.setItem('{STORE}', 'alice')")
        _as(browser, server, "alice")  # remembered: no form
        assert sorted(browser_test._shown(browser)) == sorted(batch[2:])
    finally:
        server.stop()
    stored = load_cleaner(checkpoint, labels_only=True)
    rows = {(int(r["index"]), r["annotator"]) for r in stored.answers_}
    assert rows == {(batch[0], "alice"), (batch[1], "alice")} | {
        (i, "bob") for i in batch[1:]
    }
    assert stored.n_rounds_ == 0  # the round wants two answers per sample
    server = ReviewServer(checkpoint, port=0).start()  # restarted
    try:
        browser.execute_script(f"localStorage.setItem('{STORE}', 'bob')")
        _as(browser, server, "bob")
        assert browser_test._shown(browser) == [batch[0]]
        _answer(browser, batch[0], "bkl")
        browser.execute_script(f"localStorage.setItem('{STORE}', 'alice')")
        _as(browser, server, "alice")
        assert sorted(browser_test._shown(browser)) == sorted(batch[2:])
    finally:
        server.stop()
    stored = load_cleaner(checkpoint, labels_only=True)
    assert len(stored.answers_) == 6
    assert set(stored.answers_["annotator"]) == {"alice", "bob"}


def _earlier(driver, index):
    """``[(annotator, text)]`` of a card's earlier answers (adjudication)."""
    item = driver.find_element(By.CSS_SELECTOR, f'#items .item[data-index="{index}"]')
    return [
        (li.get_attribute("data-annotator"), li.text.split(": ", 1)[1])
        for li in item.find_elements(By.CSS_SELECTOR, ".earlier li")
    ]


def test_adjudicator_sees_the_independent_reads(tmp_path, browser):
    from noisyactive.active import load_cleaner
    from noisyactive.review import ReviewServer

    checkpoint = browser_test._campaign(tmp_path)
    cleaner = load_cleaner(checkpoint)
    cleaner.set_params(max_answers_per_sample=3, consensus="majority")
    with cleaner.campaign_.locked():
        cleaner.campaign_.save()
    server = ReviewServer(checkpoint, port=0).start()  # independent reads
    try:
        browser.get(server.url)
        browser.execute_script(f"localStorage.setItem('{STORE}', 'alice')")
        _as(browser, server, "alice")
        batch = browser_test._shown(browser)
        _answer(browser, batch[0], "bkl")
        _answer(browser, batch[1], "mel")
        browser.execute_script(f"localStorage.setItem('{STORE}', 'bob')")
        _as(browser, server, "bob")
        assert not browser.find_elements(By.CSS_SELECTOR, ".earlier, .agreement")
        _answer(browser, batch[0], "bkl")
        _answer(browser, batch[1], "nv")
    finally:
        server.stop()
    server = ReviewServer(checkpoint, port=0, adjudicate=True).start()
    try:
        browser.execute_script(f"localStorage.setItem('{STORE}', 'carol')")
        _as(browser, server, "carol")
        assert "adjudication" in browser.find_element(By.TAG_NAME, "h1").text
        assert _earlier(browser, batch[0]) == [("alice", "bkl"), ("bob", "bkl")]
        assert _earlier(browser, batch[1]) == [("alice", "mel"), ("bob", "nv")]
        agreement = {
            i: browser.find_element(
                By.CSS_SELECTOR, f'#items .item[data-index="{i}"] .agreement'
            ).text
            for i in batch[:3]
        }
        assert agreement[batch[0]] == "100 % on bkl"
        assert agreement[batch[1]] == "50 % (a tie: open)"
        assert _earlier(browser, batch[2]) == [] and agreement[batch[2]] == "–"
        _answer(browser, batch[1], "nv")  # carol settles the tie
    finally:
        server.stop()
    stored = load_cleaner(checkpoint, labels_only=True)
    rows = stored.answers_[stored.answers_["index"] == batch[1]]
    assert rows["annotator"].tolist() == ["alice", "bob", "carol"]
    assert stored.labels_[batch[1]] == "nv"
