"""`sample serve`: the real server on a free loopback port, with a tiny model trained here: the API (plain
and streamed), every bad input, an API key, timeouts, a client that leaves, concurrent users sharing
passes, and the page in a real headless browser."""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import BIN, timed

TINY = str(Path(__file__).parents[1] / "configs" / "tiny.yaml")


@pytest.fixture(scope="module")
def model(tiny_run) -> Path:
    return tiny_run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, model: Path, *args: str):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [str(BIN / "sample"), "serve", "--model", str(model), "--port", str(self.port), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TEXTLADDER_API_KEY": ""},
        )
        end = time.monotonic() + 120
        while True:
            assert self.proc.poll() is None, self.proc.stderr.read()
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                pass
            assert time.monotonic() < end, "the server did not come up"
            time.sleep(0.1)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        conn.request(method, path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
        res = conn.getresponse()
        data = res.read()
        conn.close()
        return res.status, data

    def get(self, path: str):
        return self.request("GET", path)

    def expand(self, options: dict, headers: dict | None = None):
        status, data = self.request("POST", "/v1/expand", json.dumps(options).encode(), headers)
        return status, json.loads(data)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(model):
    s = Server(model)
    yield s
    s.stop()


def test_expand_answers_what_sample_json_prints(server, model):
    status, out = server.expand({"seed": "Emma", "num": 2, "steps": 3, "words": 20, "rng_seed": 3})
    assert status == 200, out
    assert set(out) == {"settings", "trajectories", "rungs"} and out["settings"]["seed"] == "Emma"
    assert len(out["trajectories"]) == 2 and all(len(t) == 4 and t[0] == "Emma" for t in out["trajectories"])
    for t in out["rungs"]:
        assert [r["rung"] for r in t] == [3, 2, 1, 0] and t[0]["kept"] is None
        for r in t[1:]:
            assert all(0 <= a <= b <= len(r["text"]) for a, b in r["kept"])
    cli = timed(
        [str(BIN / "sample"), "--seed", "Emma", "--model", str(model), "--json", "--num", "1", "--steps", "3"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert set(json.loads(cli.stdout)) == set(out) and set(json.loads(cli.stdout)["settings"]) == set(out["settings"])


def test_stream_sends_each_rung_as_it_is_written(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    conn.request(
        "POST",
        "/v1/expand",
        body=json.dumps({"seed": "war", "num": 2, "steps": 2, "stream": True}),
        headers={"Content-Type": "application/json"},
    )
    res = conn.getresponse()
    assert res.status == 200 and res.getheader("content-type").startswith("text/event-stream")
    events = [block for block in res.read().decode().split("\n\n") if block]
    conn.close()
    kinds = [b.split("\n")[0].removeprefix("event: ") for b in events]
    assert kinds == ["rung"] * 4 + ["done"]  # 2 samples x 2 steps, then the whole result
    rungs = [json.loads(b.split("\n")[1].removeprefix("data: ")) for b in events[:-1]]
    assert [r["rung"] for r in rungs] == [1, 1, 0, 0] and {r["sample"] for r in rungs} == {0, 1}
    done = json.loads(events[-1].split("\n")[1].removeprefix("data: "))
    assert [t[-1] for t in done["trajectories"]] == [r["text"] for r in rungs[2:]]


BAD = [
    (b"{not json", 400, None, "not JSON"),
    (b"[1, 2]", 400, None, "JSON object"),
    (json.dumps({"steps": 2}).encode(), 422, "seed", "empty"),
    (json.dumps({"seed": "   "}).encode(), 422, "seed", "empty"),
    (json.dumps({"seed": "x", "steps": "two"}).encode(), 422, "steps", "must be int"),
    (json.dumps({"seed": "x", "num": True}).encode(), 422, "num", "must be int"),
    (json.dumps({"seed": "x", "steps": 9}).encode(), 422, "steps", "out of range"),
    (json.dumps({"seed": "x", "num": 5000, "tree": 3}).encode(), 422, "num", "more than"),
    (json.dumps({"seed": "x", "temperature": -1}).encode(), 422, "temperature", "below 0"),
    (json.dumps({"seed": "x", "top_p": 2}).encode(), 422, "top_p", "out of range"),
    (json.dumps({"seed": "x", "lexicon": "some"}).encode(), 422, "lexicon", "none of phrases, all, off"),
    (json.dumps({"seed": "x", "words": 0}).encode(), 422, "words", "out of range"),
    (json.dumps({"seed": "one two three four five", "words": 3}).encode(), 422, "words", "needs at least"),
    (json.dumps({"seed": " ".join(["word"] * 400)}).encode(), 422, "seed", "longer than"),
    (json.dumps({"seed": "x", "colour": "red"}).encode(), 400, "colour", "unknown field"),
    (json.dumps({"seed": "x" * 70_000}).encode(), 413, None, "over 65536 bytes"),
]


@pytest.mark.parametrize("body, status, field, message", BAD, ids=[f"{b[:20]!r}" for b, *_ in BAD])
def test_bad_input_gets_a_4xx_naming_the_field_and_the_server_serves_on(server, body, status, field, message):
    got, data = server.request("POST", "/v1/expand", body)
    err = json.loads(data)
    assert got == status and err["field"] == field and message in err["error"], err
    assert server.expand({"seed": "Emma", "steps": 1})[0] == 200


def test_api_key_is_required_when_given(model):
    s = Server(model, "--api-key", "sesame")
    try:
        assert s.expand({"seed": "x", "steps": 1})[0] == 401
        assert s.expand({"seed": "x", "steps": 1}, {"Authorization": "Bearer wrong"})[0] == 401
        assert s.expand({"seed": "x", "steps": 1}, {"Authorization": "Bearer sesame"})[0] == 200
        assert s.get("/healthz")[0] == 200  # health needs no key
    finally:
        s.stop()


def test_a_request_past_the_timeout_is_cut(model):
    s = Server(model, "--timeout", "0.05")
    try:
        status, err = s.expand({"seed": "x", "num": 64, "words": 200})
        assert status == 504 and "ran past" in err["error"]
        assert s.get("/healthz")[0] == 200
    finally:
        s.stop()


def test_a_client_that_leaves_does_not_disturb_the_others(server):
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        others = [pool.submit(server.expand, {"seed": "Emma", "num": 2, "steps": 3}) for _ in range(3)]
        sock = socket.create_connection(("127.0.0.1", server.port))
        body = json.dumps({"seed": "war", "num": 8, "steps": 3, "stream": True}).encode()
        sock.sendall(
            b"POST /v1/expand HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        sock.recv(64)
        sock.close()  # gone mid-stream
        assert all(f.result()[0] == 200 for f in others)
    assert server.expand({"seed": "Emma", "steps": 1})[0] == 200


def test_concurrent_requests_share_batched_passes(server):
    before = json.loads(server.get("/healthz")[1])
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: server.expand({"seed": "Emma", "steps": 3, "rng_seed": i}), range(8)))
    assert all(status == 200 and len(out["trajectories"]) == 1 for status, out in results)
    after = json.loads(server.get("/healthz")[1])
    passes, rows = after["passes"] - before["passes"], after["rows_in_passes"] - before["rows_in_passes"]
    assert rows == 8 * 3 and passes < rows, f"{rows} rows in {passes} passes: no request joined another's pass"


@pytest.fixture(scope="module")
def browser():
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.fail(
            "the page test needs Debian's chromium and chromium-driver (apt-get install chromium "
            "chromium-driver; .ci/run installs them)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()


def test_the_page_shows_the_expansion_grow(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"http://127.0.0.1:{server.port}/")
    seed = browser.find_element(By.ID, "seed")
    seed.clear()
    seed.send_keys("garden")
    browser.find_element(By.NAME, "num").clear()
    browser.find_element(By.NAME, "num").send_keys("3")
    browser.find_element(By.ID, "go").click()
    WebDriverWait(browser, 120).until(lambda d: d.find_element(By.ID, "samples").get_attribute("data-done") == "1")
    columns = browser.find_elements(By.CSS_SELECTOR, ".sample")
    assert len(columns) == 3
    for col in columns:
        rungs = col.find_elements(By.CSS_SELECTOR, ".rung")
        assert [r.get_attribute("data-rung") for r in rungs] == ["seed", "2", "1", "0"]
        assert "garden" in rungs[1].find_element(By.TAG_NAME, "mark").text  # the seed kept, marked
    assert "done" in browser.find_element(By.ID, "status").text
    browser.save_screenshot(str(tmp_path / "page.png"))
    assert (tmp_path / "page.png").stat().st_size > 10_000
    browser.find_element(By.NAME, "tree").clear()
    browser.find_element(By.NAME, "tree").send_keys("2")
    browser.find_element(By.NAME, "num").clear()
    browser.find_element(By.NAME, "num").send_keys("1")
    browser.find_element(By.ID, "go").click()
    WebDriverWait(browser, 120).until(lambda d: d.find_elements(By.ID, "tree"))
    nodes = len(browser.find_elements(By.CSS_SELECTOR, "#tree li"))
    assert 1 + 2 + 2 <= nodes <= 1 + 2 + 4 + 8  # the seed, then 2, 4, 8 branches (identical ones drawn once)
