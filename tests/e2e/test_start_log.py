"""`python -m server` as `make run` starts it: the start-up log says where the Mini App, the
API docs and the health check are, at addresses that answer."""

from __future__ import annotations

import re

import aiohttp

from tests.process import ServiceProcess


async def test_the_start_up_log_points_to_the_app_the_docs_and_health(tmp_path):
    service = ServiceProcess(tmp_path / "data", tmp_path / "service.log")
    try:
        await service.start()
        log = service.log()
        urls = {
            name: re.search(rf"{name}: (http://\S+)", log)
            for name in ("Mini App", "API docs", "health")
        }
        assert all(urls.values()), log
        async with aiohttp.ClientSession() as http:
            for name, match in urls.items():
                assert match is not None
                # The log names a browser's address (localhost), the test reaches 127.0.0.1.
                url = match[1].replace("localhost", "127.0.0.1")
                async with http.get(url) as response:
                    assert response.status == 200, (name, url)
            async with http.get(service.url + "/") as response:
                assert response.status == 200
                assert response.url.path == "/app/"
    finally:
        await service.stop()
