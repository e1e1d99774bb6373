"""A standard SIWE client (the npm ``siwe`` package + ethers: ``domain: location.host``, ``uri:
location.origin``) signs in with the default settings on every loopback name, and nowhere else (issue 13)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.worker_api.helpers import metagraph_of
from tests.worker_api.server import serve

from dojo.config import load_settings
from dojo.worker_api.app import create_app

JS = Path(__file__).resolve().parents[1] / "js"


def node(*args: str) -> dict[str, Any]:
    """Run tests/js/siwe_client.mjs (the npm packages' sign-in) and return its JSON line."""
    assert shutil.which("node"), "node (20+) is needed: apt-get install nodejs npm"
    assert (JS / "node_modules" / "siwe").is_dir(), "the npm clients are not installed: run `make js`"
    done = subprocess.run(
        ["node", str(JS / "siwe_client.mjs"), *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def worker_api(home: Path, **extra: Any) -> Any:
    """The worker API with the default SIWE settings unless told (no DOJO_WORKER_SIWE_DOMAIN)."""
    settings = load_settings(home=home, profile="fast", worker__jwt_secret="s" * 40, **extra)
    return create_app(settings, metagraph=lambda: metagraph_of())


def post_signed(url: str, host: str, signed: dict[str, Any]) -> httpx.Response:
    """POST a signed message to the login endpoint as if the server was reached at ``host``."""
    return httpx.post(
        f"{url}/api/v1/worker/login",
        json={"message": signed["message"], "signature": signed["signature"]},
        headers={"Host": host},
        timeout=10,
    )


def nonce_at(url: str, host: str, address: str) -> httpx.Response:
    return httpx.get(f"{url}/api/v1/auth/nonce", params={"address": address}, headers={"Host": host}, timeout=10)


def refused(resp: httpx.Response, status: int, words: str) -> None:
    data = resp.json()
    assert resp.status_code == status and data["success"] is False, (resp.status_code, data)
    assert words in data["error"], data["error"]


def test_no_domain_is_the_default() -> None:
    assert load_settings().worker.siwe_domain == ""


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost"])
def test_the_npm_client_signs_in_with_defaults_on_loopback(tmp_home: Path, name: str) -> None:
    with serve(worker_api(tmp_home)) as url:
        origin = url.replace("127.0.0.1", name)
        got = node("login", origin)
        assert got["status"] == 200 and got["reply"]["success"], got
        assert got["message"].startswith(f"{origin.removeprefix('http://')} wants you to sign in")
        token = got["reply"]["body"]["token"]
        mine = httpx.get(f"{url}/api/v1/worker/partners", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert mine.status_code == 200, mine.text  # a working session


def test_ipv6_loopback_is_accepted_too(tmp_home: Path) -> None:
    with serve(worker_api(tmp_home)) as url:
        host = f"[::1]:{url.rsplit(':', 1)[1]}"
        address = node("sign", f"http://{host}", "0" * 17)["address"]
        nonce = nonce_at(url, host, address).json()["body"]
        assert nonce["domain"] == host
        resp = post_signed(url, host, node("sign", f"http://{host}", nonce["nonce"]))
        assert resp.status_code == 200 and resp.json()["success"], resp.text


def test_a_non_loopback_host_is_refused_without_a_domain(tmp_home: Path) -> None:
    with serve(worker_api(tmp_home)) as url:
        port = url.rsplit(":", 1)[1]
        loopback = f"127.0.0.1:{port}"
        address = node("sign", url, "0" * 17)["address"]
        for host in (f"dojo.example.org:{port}", "localhost.evil.example", f"127.0.0.1.nip.io:{port}", "10.0.0.5"):
            refused(nonce_at(url, host, address), 403, "DOJO_WORKER_SIWE_DOMAIN")
            # a nonce got on loopback, then a message for the public name sent there: refused too
            nonce = nonce_at(url, loopback, address).json()["body"]["nonce"]
            refused(post_signed(url, host, node("sign", f"http://{host}", nonce)), 403, "only on loopback")
            nonce = nonce_at(url, loopback, address).json()["body"]["nonce"]
            refused(post_signed(url, host, node("sign", url, nonce)), 403, "only on loopback")
        # the domain is the loopback name the request reached, not any loopback name
        nonce = nonce_at(url, loopback, address).json()["body"]["nonce"]
        refused(post_signed(url, loopback, node("sign", f"http://localhost:{port}", nonce)), 401, "wrong domain")


def test_a_configured_domain_is_the_only_one(tmp_home: Path) -> None:
    with serve(worker_api(tmp_home, worker__siwe_domain="dojo.example.org")) as url:
        got = node("login", url)  # the npm client on loopback names 127.0.0.1:PORT
        assert got["status"] == 401 and "wrong domain" in got["reply"]["error"], got
        address = node("sign", url, "0" * 17)["address"]
        nonce = nonce_at(url, "dojo.example.org", address).json()["body"]
        assert nonce["domain"] == "dojo.example.org"
        resp = post_signed(url, "dojo.example.org", node("sign", "https://dojo.example.org", nonce["nonce"]))
        assert resp.status_code == 200 and resp.json()["success"], resp.text


def test_the_local_networks_labellers_still_sign_in(tmp_home: Path) -> None:
    """dojo localnet sets DOJO_WORKER_SIWE_DOMAIN=127.0.0.1:PORT; its labellers write that domain."""
    import asyncio

    from dojo import serving
    from dojo.localnet.labellers import SimulatedLabeller

    async def login(url: str, domain: str) -> None:
        who = SimulatedLabeller("l", None, url, domain, 1, "sub", seed=3)  # type: ignore[arg-type]
        async with httpx.AsyncClient(timeout=10) as c:
            await who.login(c)
            await who._call(c, "GET", "/api/v1/worker/partners")  # a working session

    sock = serving.listen("127.0.0.1", 0)  # the port is known before the app that names it is built
    port = sock.getsockname()[1]
    with serve(worker_api(tmp_home / "set", worker__siwe_domain=f"127.0.0.1:{port}"), sock=sock) as url:
        asyncio.run(login(url, f"127.0.0.1:{port}"))
    with serve(worker_api(tmp_home / "unset")) as url:  # and with the default, on either loopback name
        asyncio.run(login(url, url.removeprefix("http://")))
        asyncio.run(login(url.replace("127.0.0.1", "localhost"), url.replace("http://127.0.0.1", "localhost")))
