"""NHS.UK frontend is served by the hub itself: every URL its stylesheet names answers, nothing else does."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hub.web import nhsuk_assets
from tests.support.inprocess_hub import InProcessHub


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    running = InProcessHub(tmp_path_factory.mktemp("nhsuk-assets"))
    yield TestClient(running.app, base_url="http://testserver")
    running.engine.dispose()


def test_the_stylesheet_and_every_url_it_names_are_served_from_the_hub(client: TestClient) -> None:
    css = client.get(nhsuk_assets.CSS)
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "immutable" in css.headers["cache-control"]
    urls = set(re.findall(r"url\(([^)]*)\)", css.text))
    assert urls, "the stylesheet names its icons"
    assert not [u for u in urls if not u.startswith(nhsuk_assets.PREFIX + "/")], "no third-party asset"
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert client.get(nhsuk_assets.JS).headers["content-type"].startswith("text/javascript")


@pytest.mark.parametrize("name", ["../settings.py", "README.md", "nhsuk-frontend.min.css", "%2e%2e%2fREADME.md"])
def test_only_the_listed_assets_are_served(client: TestClient, name: str) -> None:
    assert client.get(f"{nhsuk_assets.PREFIX}/{name}").status_code == 404
