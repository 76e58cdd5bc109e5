"""The pages (``GET /screen``, ``GET /assistant``) against a real ``bentoml serve``: over
HTTP (self-contained HTML, 4xx for anything else, open without the key, nothing logged of
the member), and in a real headless Chromium driven by Selenium (the shelf, a dwell posted
as a view, the next shelf changing, the assistant's member view).

The browser tests need Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs
them) and skip, saying so, without them. ``RECSYS_PAGES_SCREENSHOTS=docs/img`` saves the
README's screenshots of both pages there.
"""

from __future__ import annotations

import os
import re
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
import pytest

from recsys.columns import Columns
from recsys.recommender import Recommender
from recsys.serving.local import LocalServer

if TYPE_CHECKING:
    from conftest import ServerEnv, TrainedModel

pytestmark = pytest.mark.http

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREEN_TILES = 8  # SHELF_SIZE of static/screen.js
DWELL_SECONDS = 2.5
VIEWPORT = {"width": 1280, "height": 800}


def _page(path: str, store: str | None, member: str | None, key: str | None = None) -> str:
    query = {n: v for n, v in (("store_id", store), ("member_id", member)) if v is not None}
    return path + ("?" + urlencode(query) if query else "") + (f"#key={key}" if key else "")


def _error(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, (resp.request.method, resp.request.url, resp.text)
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error", "detail"} and body["detail"], body
    return dict(body)


def _last_seq(server: LocalServer) -> int:
    path = server.env["RECSYS_EVENT_LOG"]
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])


def _views(server: LocalServer, member: str) -> list[tuple[str, float, str]]:
    path = server.env["RECSYS_EVENT_LOG"]
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT item_id, value, store_id FROM events WHERE user_id = ? AND kind = 'view'"
            " ORDER BY seq",
            (member,),
        ).fetchall()
    return [(str(i), float(v), str(s)) for i, v, s in rows]


@pytest.fixture(scope="module")
def moving(trained: TrainedModel) -> tuple[str, str]:
    """A member, and a SKU on their screen shelf whose view changes their next shelf.

    Found on a local copy of the model ``keyed`` serves (the server is not touched).
    """
    rec = Recommender.load(trained.path)
    members = trained.data.interactions[Columns.USER].drop_duplicates().tolist()
    for member in reversed(members[-40:]):
        before = [r.item_id for r in rec.recommend(member, k=SCREEN_TILES, store_id=trained.store)]
        if len(before) < SCREEN_TILES:
            continue
        viewed = before[-1]
        event = {"user_id": member, "item_id": viewed, "kind": "view", "value": DWELL_SECONDS}
        rec.update([{**event, "store_id": trained.store}])
        after = [r.item_id for r in rec.recommend(member, k=SCREEN_TILES, store_id=trained.store)]
        if set(after) != set(before):
            return str(member), viewed
    pytest.fail("no member's shelf moves after a view: the session intent lost its effect")


@pytest.fixture(scope="module")
def opened(
    trained: TrainedModel, server_env: ServerEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalServer]:
    """A server of this module without an API key.

    Not the session's ``server``: ``test_lifecycle`` kills every child process of the test
    run when it ends, and this module runs after it.
    """
    run = tmp_path_factory.mktemp("pages_open")
    srv = LocalServer(
        trained.path, env=server_env(run, run / "events.sqlite"), log_path=run / "server.log"
    )
    yield srv.start()
    srv.stop()


@pytest.fixture()
def client(opened: LocalServer) -> Iterator[httpx.Client]:
    """A client of ``opened`` (in this module, instead of the session server's)."""
    with httpx.Client(base_url=opened.url, timeout=30) as http:
        yield http


@pytest.fixture()
def keyed_client(keyed: LocalServer, api_key: str) -> Iterator[httpx.Client]:
    auth = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=keyed.url, headers=auth, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def keyed(
    trained: TrainedModel,
    server_env: ServerEnv,
    api_key: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LocalServer]:
    """A server of its own (no other test's events, SKUs or stock) behind an API key, with
    BentoML's access log on, logging to a file."""
    run = tmp_path_factory.mktemp("pages_keyed")
    env = {**server_env(run, run / "events.sqlite", api_key=api_key), "RECSYS_ACCESS_LOG": "1"}
    srv = LocalServer(trained.path, env=env, log_path=run / "server.log").start()
    yield srv
    srv.stop()


# ---------------------------------------------------------------------------- over HTTP
def test_pages_are_self_contained_html(client: httpx.Client, trained: TrainedModel) -> None:
    for path in ("/screen", "/assistant"):
        resp = client.get(_page(path, trained.store, trained.member))
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"] == "text/html; charset=utf-8"
        assert "default-src 'none'" in resp.headers["content-security-policy"]
        assert resp.headers["referrer-policy"] == "no-referrer"
        assert trained.member not in resp.text  # the HTML holds no data
        files = re.findall(r'(?:src|href)="([^"]+)"', resp.text)
        assert files, "a page without its script and style sheet"
        for name in files:
            assert not name.startswith(("http:", "https:", "//")), name
            if name.startswith("data:"):
                continue
            asset = client.get("/" + name)
            assert asset.status_code == 200, name
            for text in (resp.text, asset.text):
                assert not re.search(r"https?://", text), (path, name)
            if name.endswith(".js"):  # a module may import only its neighbours
                for imported in re.findall(r'from "([^"]+)"', asset.text):
                    assert imported.startswith("./"), imported
                    assert client.get(f"/pages/static/{imported[2:]}").status_code == 200


def test_an_incomplete_page_address_is_400_with_a_message_and_no_value(
    client: httpx.Client, opened: LocalServer, trained: TrainedModel
) -> None:
    before = _last_seq(opened)
    member = "4929123412341234"
    cases = {
        _page("/screen", trained.store, None): "member_id is missing",
        _page("/assistant", None, member): "store_id is missing",
        "/screen": "store_id and member_id are missing",
        _page("/screen", trained.store, ""): "member_id is missing",
        _page("/screen", trained.store, member) + f"&member_id={member}": "more than once",
        _page("/screen", trained.store, member) + f"&{member}=1": "remove the other parameters",
        _page("/screen", trained.store, "x" * 300): "longer than 256",
        f"/screen?store_id={trained.store}&member_id=%ff": "not UTF-8",
    }
    for path, message in cases.items():
        resp = client.get(path)
        assert resp.status_code == 400, path
        assert resp.headers["content-type"].startswith("text/html")
        problem = re.search(r'data-problem="([^"]*)"', resp.text)
        assert problem and message in problem.group(1), (path, resp.text[:400])
        assert member not in resp.text
    assert _last_seq(opened) == before


def test_pages_refuse_anything_but_get_with_json_4xx(
    client: httpx.Client, opened: LocalServer, trained: TrainedModel
) -> None:
    before = _last_seq(opened)
    for path in ("/screen", "/assistant", "/pages/static/pages.js"):
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            resp = client.request(method, _page(path, trained.store, trained.member), json={})
            assert _error(resp, 405)["error"] == "MethodNotAllowed"
            assert trained.member not in resp.text
    assert _error(client.get("/pages/static/nope.js"), 404)["error"] == "NotFound"
    assert _error(client.get("/pages/static/screen.html"), 404)["error"] == "NotFound"
    resp = client.post("/screen", content=b"x", headers={"Content-Type": "text/plain"})
    assert _error(resp, 400)["error"] == "UnsupportedMediaType"
    assert client.head(_page("/screen", trained.store, trained.member)).status_code == 200
    assert _last_seq(opened) == before


def test_pages_open_without_the_key_the_api_not(
    keyed: LocalServer, trained: TrainedModel, api_key: str
) -> None:
    with httpx.Client(base_url=keyed.url, timeout=30) as http:
        for path in ("/screen", "/assistant"):
            assert http.get(_page(path, trained.store, trained.member)).status_code == 200
        assert http.get("/pages/static/screen.js").status_code == 200
        body = {"member_id": trained.member, "store_id": trained.store}
        assert _error(http.post("/recommend", json=body), 401)["error"] == "Unauthorized"
        assert _error(http.post("/screen", json={}), 401)["error"] == "Unauthorized"
        auth = {"Authorization": f"Bearer {api_key}"}
        assert _error(http.post("/screen", json={}, headers=auth), 405)
        assert http.post("/recommend", json=body, headers=auth).status_code == 200


# ------------------------------------------------------------------------------ browser
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's) under Selenium, 1280x800, unable to resolve any host
    but loopback: a page that loaded anything from the network would fail."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.skip(
            f"headless Chromium is not installed ({', '.join(missing)} missing): "
            "apt-get install chromium chromium-driver"
        )
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-extensions",
        f"--window-size={VIEWPORT['width']},{VIEWPORT['height']}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {**VIEWPORT, "deviceScaleFactor": 1, "mobile": False}
    )
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _open(driver: Any, url: str, timeout: float = 15) -> Any:
    """Load ``url`` and wait until the page says it is ready (or failed); the ``<body>``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    body = driver.find_element(By.TAG_NAME, "body")
    WebDriverWait(driver, timeout).until(lambda _: body.get_attribute("data-ready"))
    return body


def _wait(driver: Any, until: Callable[[], Any], timeout: float = 15) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda _: until())


def _failure(driver: Any) -> str:
    """The error the page shows (for assertion messages)."""
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.ID, "error").text)


def _resources(driver: Any) -> list[str]:
    """Every URL the page fetched (scripts, styles, API calls)."""
    names = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    return [str(n) for n in names]


def _shelf(driver: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    return [t.get_attribute("data-item-id") for t in driver.find_elements(By.CSS_SELECTOR, ".tile")]


def _screenshot(driver: Any, name: str) -> None:
    folder = os.environ.get("RECSYS_PAGES_SCREENSHOTS")
    if folder:
        time.sleep(0.8)  # let the "new" tiles finish arriving
        Path(folder).mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(Path(folder) / name))


def test_screen_shows_the_shelf_with_reasons_and_gets_ready(
    browser: Any,
    opened: LocalServer,
    trained: TrainedModel,
    capsys: pytest.CaptureFixture[str],
    record_property: Callable[[str, object], None],
) -> None:
    from selenium.webdriver.common.by import By

    url = opened.url + _page("/screen", trained.store, trained.member)
    ready, interactive = [], []
    for _ in range(5):
        body = _open(browser, url)
        assert body.get_attribute("data-ready") == "ready", browser.find_element(
            By.ID, "error"
        ).text
        ready.append(int(body.get_attribute("data-ready-ms")))
        interactive.append(
            browser.execute_script(
                "return performance.getEntriesByType('navigation')[0].domInteractive"
            )
        )
    tiles = browser.find_elements(By.CSS_SELECTOR, ".tile")
    assert len(tiles) == SCREEN_TILES
    for tile in tiles:
        assert tile.find_element(By.CSS_SELECTOR, ".reason").text.strip()
        assert tile.get_attribute("data-changed") is None  # nothing is "new" on a first shelf
    assert not browser.find_element(By.ID, "error").is_displayed()
    assert all(r.startswith(opened.url + "/") for r in _resources(browser)), _resources(browser)
    line = (
        f"pages: /screen first shelf rendered in {statistics.median(ready):.0f} ms median "
        f"(min {min(ready)}, max {max(ready)}, 5 loads; DOM interactive "
        f"{statistics.median(interactive):.0f} ms)"
    )
    record_property("screen_ready_ms", ready)
    with capsys.disabled():  # measured, not asserted: shown in every run
        print(f"\n{line}")


def test_a_dwell_is_a_view_and_the_next_shelf_changes(
    browser: Any, keyed: LocalServer, trained: TrainedModel, moving: tuple[str, str], api_key: str
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    member, sku = moving
    body = _open(browser, keyed.url + _page("/screen", trained.store, member, key=api_key))
    assert body.get_attribute("data-ready") == "ready", _failure(browser)
    first = _shelf(browser)
    assert sku in first, (sku, first)
    heading = browser.find_element(By.TAG_NAME, "h1")
    tile = browser.find_element(By.CSS_SELECTOR, f'.tile[data-item-id="{sku}"]')

    # a glance (under a second) is no view
    ActionChains(browser).move_to_element(tile).pause(0.3).move_to_element(heading).perform()
    # a look of DWELL_SECONDS is, posted when the pointer leaves
    ActionChains(browser).move_to_element(tile).pause(DWELL_SECONDS).perform()
    time.sleep(0.5)
    assert body.get_attribute("data-shelf-version") == "1"  # not while the pointer stays
    ActionChains(browser).move_to_element(heading).perform()
    _wait(browser, lambda: body.get_attribute("data-shelf-version") == "2")

    assert body.get_attribute("data-views") == "1", _failure(browser)
    views = _views(keyed, member)
    assert [(i, s) for i, _, s in views] == [(sku, trained.store)]
    assert DWELL_SECONDS <= views[0][1] < DWELL_SECONDS + 2
    second = _shelf(browser)
    assert set(second) != set(first)
    changed = browser.find_elements(By.CSS_SELECTOR, '.tile[data-changed="true"]')
    assert {t.get_attribute("data-item-id") for t in changed} == set(second) - set(first)
    assert all(t.find_element(By.CSS_SELECTOR, ".badge").is_displayed() for t in changed)
    status = browser.find_element(By.ID, "status").text
    assert sku in status and "new pick" in status, status
    _screenshot(browser, "screen.png")

    # the keyboard's equivalent: a tile focused for a while, then left
    browser.find_element(By.CSS_SELECTOR, ".tile").click()  # focus, without a dwell yet
    ActionChains(browser).move_to_element(heading).perform()
    time.sleep(1.5)
    ActionChains(browser).send_keys(Keys.TAB).perform()
    _wait(browser, lambda: body.get_attribute("data-shelf-version") == "3")
    assert body.get_attribute("data-views") == "2"
    assert len(_views(keyed, member)) == 2


def test_a_page_without_its_parameters_says_so_and_calls_nothing(
    browser: Any, opened: LocalServer, trained: TrainedModel
) -> None:
    from selenium.webdriver.common.by import By

    for path, missing in (
        (_page("/screen", trained.store, None), "member_id is missing"),
        (_page("/assistant", None, trained.member), "store_id is missing"),
    ):
        body = _open(browser, opened.url + path)
        assert body.get_attribute("data-ready") == "problem"
        problem = browser.find_element(By.ID, "problem")
        assert problem.is_displayed() and missing in problem.text, problem.text
        assert not browser.find_elements(By.CSS_SELECTOR, ".tile")
        called = [r for r in _resources(browser) if "/pages/static/" not in r]
        assert not called, called


def test_the_assistant_shows_tags_today_shelf_and_coupon(
    browser: Any,
    keyed: LocalServer,
    keyed_client: httpx.Client,
    trained: TrainedModel,
    api_key: str,
) -> None:
    from selenium.webdriver.common.by import By

    client = keyed_client
    member = trained.member
    event = {"user_id": member, "item_id": trained.item, "kind": "view", "value": 12.0}
    assert client.post(
        "/events", json={"events": [{**event, "store_id": trained.store}]}
    ).is_success
    answer = client.post("/member", json={"member_id": member, "store_id": trained.store}).json()

    body = _open(browser, keyed.url + _page("/assistant", trained.store, member, key=api_key))
    assert body.get_attribute("data-ready") == "ready", _failure(browser)
    tags = browser.find_element(By.ID, "tags").text
    for name, value in answer["profile"].items():
        assert name.replace("_", " ") in tags and str(value) in tags, (name, tags)
    rows = [
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for row in browser.find_elements(By.CSS_SELECTOR, "#today tbody tr")
    ]
    assert [None, "view", trained.item, "12.0 s", trained.store] in [
        [None, *row[1:]] for row in rows
    ], rows
    tiles = browser.find_elements(By.CSS_SELECTOR, ".tile")
    assert tiles and all(t.find_element(By.CSS_SELECTOR, ".reason").text for t in tiles)
    coupon = browser.find_element(By.ID, "coupon")
    assert answer["coupon"] is not None, answer  # this server issued none yet: no cap reached
    # the coupon is the shelf's best SKU, and the view's lift fades by the second: the page
    # asked between these two answers, so it shows one of their coupons
    after = client.post("/member", json={"member_id": member, "store_id": trained.store}).json()
    offered = {a["coupon"]["item_id"]: a["coupon"] for a in (answer, after) if a["coupon"]}
    shown = coupon.get_attribute("data-item-id")
    assert shown in offered, (shown, offered)
    assert offered[shown]["reason"] in coupon.text
    _screenshot(browser, "assistant.png")


def test_the_key_travels_in_the_fragment_and_no_member_id_is_logged(
    browser: Any,
    keyed: LocalServer,
    opened: LocalServer,
    trained: TrainedModel,
    moving: tuple[str, str],
    api_key: str,
) -> None:
    member = trained.member
    body = _open(browser, keyed.url + _page("/screen", trained.store, member, key=api_key))
    assert body.get_attribute("data-ready") == "ready", _failure(browser)
    assert len(_shelf(browser)) == SCREEN_TILES

    body = _open(browser, keyed.url + _page("/screen", trained.store, member))
    assert body.get_attribute("data-ready") == "error"
    error = _failure(browser)
    assert "401" in error and "#key=" in error, error
    assert not _shelf(browser)

    # the access log is on (BentoML's default; every page request and API call of this
    # module is in it), the member ids of the pages' addresses are not, nor the key
    for server in (keyed, opened):
        log = Path(str(server.log_path)).read_text(errors="replace")
        assert "path=/screen" in log and "path=/recommend" in log, log[-2000:]
        for someone in (member, moving[0], "4929123412341234"):
            assert not re.search(rf"\b{re.escape(someone)}\b", log), (server.url, someone)
        assert api_key not in log
