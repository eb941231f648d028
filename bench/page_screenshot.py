"""A screenshot of `sample serve`'s page for the README: the real server, a real headless chromium.

Starts `sample serve --model MODEL` on a free loopback port, types a seed, asks for 3 samples, waits
until the rungs are written and saves the page as PNG.
Usage: python bench/page_screenshot.py [--model runs/cpu-demo] [--seed AI] [--out docs/serve-page.png]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from serve_load import free_port, healthy  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="runs/cpu-demo")
    ap.add_argument("--seed", default="AI")
    ap.add_argument("--out", type=Path, default=Path("docs/serve-page.png"))
    args = ap.parse_args()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    port = free_port()
    sample = shutil.which("sample") or str(Path(sys.executable).parent / "sample")
    server = subprocess.Popen([sample, "serve", "--model", args.model, "--port", str(port)])
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        healthy(port, server, 120)
        driver.get(f"http://127.0.0.1:{port}/")
        seed = driver.find_element(By.ID, "seed")
        seed.clear()
        seed.send_keys(args.seed)
        driver.find_element(By.NAME, "num").clear()
        driver.find_element(By.NAME, "num").send_keys("3")
        driver.find_element(By.NAME, "words").clear()
        driver.find_element(By.NAME, "words").send_keys("60")
        driver.find_element(By.ID, "go").click()
        WebDriverWait(driver, 300).until(lambda d: d.find_element(By.ID, "samples").get_attribute("data-done") == "1")
        time.sleep(0.5)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(args.out))
        print(args.out)
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
