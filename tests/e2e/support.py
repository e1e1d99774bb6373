"""Browser-test support: a real worker API on a free port, a miner driving it over HTTP, a test wallet
(EIP-1193 in the page, signing with eth-account in Python), and a loopback server that counts requests."""

from __future__ import annotations

import http.server
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import jwt
from eth_account import Account
from eth_account.messages import encode_defunct

from dojo import serving
from dojo.chain.base import Metagraph, Neuron
from dojo.config import load_settings
from dojo.worker_api.app import create_app

ARTIFACTS = Path(__file__).with_name("artifacts")
web = httpx.Client(timeout=30.0)  # generous: the test machine is shared and may be slow for a moment
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
JWT_SECRET = "e2e-secret-" + "y" * 40
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def hotkey(uri: str) -> Any:
    """An sr25519 keypair from a dev URI (``//Alice``)."""
    from bittensor.keyfiles import Keypair

    return Keypair.create_from_uri(uri)


def metagraph_of(*hotkeys: str) -> Metagraph:
    """A fixed metagraph registering ``hotkeys`` as uids 0..n-1 (the miner-login registration check)."""
    return Metagraph(
        netuid=1,
        block=1,
        neurons=tuple(
            Neuron(uid=i, hotkey=h, coldkey=h, stake=0.0, validator_permit=False) for i, h in enumerate(hotkeys)
        ),
    )


class WorkerApi:
    """``with WorkerApi(home, hotkeys) as api:`` — uvicorn serving the worker API (and its UI) on 127.0.0.1."""

    def __init__(self, home: Path, registered: list[str], **settings: Any) -> None:
        self._sock = serving.listen("127.0.0.1", 0)  # the port is in the settings, so it is chosen first
        self.port = int(self._sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        over: dict[str, Any] = dict(
            home=home,
            profile="fast",
            worker__jwt_secret=JWT_SECRET,
            worker__siwe_domain=f"127.0.0.1:{self.port}",
            worker__siwe_chain_id=1,
            worker__db_url=f"sqlite+aiosqlite:///{home / 'worker.db'}",
            worker__rate_limit_ip="100000/minute",
            worker__rate_limit_labeller="100000/minute",
        )
        over.update(settings)
        graph = metagraph_of(*registered)
        self.app = create_app(load_settings(**over), metagraph=lambda: graph)
        self._server: serving.ServerThread | None = None

    def __enter__(self) -> WorkerApi:
        self._server = serving.start_thread(self.app, sock=self._sock)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.stop()


def body(resp: httpx.Response) -> Any:
    """The envelope's body, asserting success."""
    data = resp.json()
    assert resp.status_code == 200 and data["success"] is True, (resp.status_code, data)
    return data["body"]


@dataclass
class Miner:
    """A miner operator using the worker API through its real endpoints (hotkey login, keys, tasks)."""

    base: str
    uri: str = "//Alice"
    session: dict[str, str] = field(default_factory=dict)
    api_key: str = ""

    def login(self) -> Miner:
        kp = hotkey(self.uri)
        ch = body(web.get(f"{self.base}/api/v1/miner/challenge", params={"hotkey": kp.ss58_address}))
        sig = kp.sign(ch["message"].encode()).hex()
        tok = body(
            web.post(
                f"{self.base}/api/v1/miner/session",
                json={"hotkey": kp.ss58_address, "message": ch["message"], "signature": sig},
            )
        )
        self.session = {"Authorization": f"Bearer {tok['token']}"}
        self.api_key = self.new_key("api-keys")
        return self

    def new_key(self, kind: str) -> str:
        """A fresh ``api-keys`` / ``subscription-keys`` key."""
        return str(
            body(web.post(f"{self.base}/api/v1/miner/{kind}", json={"name": "e2e"}, headers=self.session))["key"]
        )

    def revoke_subscription_key(self, key: str) -> None:
        keys = body(web.get(f"{self.base}/api/v1/miner/subscription-keys", headers=self.session))["keys"]
        prefix = next(k["prefix"] for k in keys if key.startswith(k["prefix"]) and k["deleted_at"] is None)
        body(web.delete(f"{self.base}/api/v1/miner/subscription-keys/{prefix}", headers=self.session))

    def create_task(
        self,
        contents: list[str],
        *,
        prompt: str = "Build a bouncing ball",
        expire_in_s: float = 900,
        max_results: int | None = None,
        ranking: bool = False,
    ) -> tuple[str, list[str]]:
        """Create a task; returns ``(worker_task_id, completion ids in order)``."""
        cids = [str(uuid.uuid4()) for _ in contents]
        task: dict[str, Any] = {
            "task_id": str(uuid.uuid4()),
            "prompt": prompt,
            "responses": [{"completion_id": c, "content": html} for c, html in zip(cids, contents, strict=True)],
            "criteria": {"type": "ranking"} if ranking else {"type": "score", "min": 1, "max": 10},
            "expire_at": (datetime.now(timezone.utc) + timedelta(seconds=expire_in_s)).isoformat(),
        }
        if max_results is not None:
            task["max_results"] = max_results
        got = body(web.post(f"{self.base}/api/v1/tasks", json=task, headers={"X-API-KEY": self.api_key}))
        return str(got["worker_task_id"]), cids

    def results(self, task_id: str) -> list[dict[str, Any]]:
        return list(
            body(web.get(f"{self.base}/api/v1/tasks/{task_id}/results", headers={"X-API-KEY": self.api_key}))["results"]
        )


def api_labeller(base: str, sub_key: str) -> tuple[Any, dict[str, str]]:
    """Another labeller, signed in over plain HTTP (SIWE) and linked by ``sub_key``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from siwe import SiweMessage
    acct = Account.create()
    n = body(web.get(f"{base}/api/v1/auth/nonce", params={"address": acct.address}))
    msg = SiweMessage(
        domain=n["domain"],
        address=n["address"],
        uri=base,
        version="1",
        chain_id=n["chain_id"],
        nonce=n["nonce"],
        issued_at=datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
    ).prepare_message()
    sig = acct.sign_message(encode_defunct(text=msg)).signature.hex()
    tok = body(
        web.post(f"{base}/api/v1/worker/login", json={"message": msg, "signature": "0x" + sig.removeprefix("0x")})
    )
    headers = {"Authorization": f"Bearer {tok['token']}"}
    body(
        web.post(f"{base}/api/v1/worker/partners", json={"name": "other", "subscription_key": sub_key}, headers=headers)
    )
    return acct, headers


def expired_token(address: str, labeller_id: int = 1) -> str:
    """A labeller JWT signed with the server's secret that expired a minute ago."""
    now = int(time.time())
    return jwt.encode(
        {
            "sub": address,
            "uid": labeller_id,
            "aud": "dojo-labeller",
            "jti": uuid.uuid4().hex,
            "iat": now - 3600,
            "exp": now - 60,
        },
        JWT_SECRET,
        algorithm="HS256",
    )


# The page's wallet: EIP-1193 requests go to a Python binding that signs with eth-account. The init script
# runs in every frame, so the binding itself refuses any call that does not come from the page's main frame.
WALLET_JS = """
(() => {
  const call = (method, params) => window.__dojoPageWallet(method, params || []);
  window.ethereum = { isDojoTest: true, request: ({ method, params }) => call(method, params),
                      on() {}, removeListener() {} };
})();
"""


@dataclass
class PageWallet:
    """Signs for one eth-account key; counts refused calls from frames other than the main frame."""

    account: Any = field(default_factory=Account.create)
    signed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def install(self, context: Any) -> None:
        context.expose_binding("__dojoPageWallet", self._handle)
        context.add_init_script(WALLET_JS)

    def _handle(self, source: dict[str, Any], method: str, params: list[Any]) -> Any:
        page, frame = source.get("page"), source.get("frame")
        if page is None or frame is None or frame != page.main_frame:
            self.refused.append(method)
            raise RuntimeError("this wallet answers the top-level page only")
        if method in ("eth_requestAccounts", "eth_accounts"):
            return [self.account.address.lower()]  # like MetaMask: lower case
        if method == "eth_chainId":
            return "0x1"
        if method == "personal_sign":
            data, address = params[0], params[1]
            assert address.lower() == self.account.address.lower()
            raw = bytes.fromhex(data[2:]) if data.startswith("0x") else data.encode()
            sig = self.account.sign_message(encode_defunct(primitive=raw)).signature.hex()
            self.signed.append(raw.decode())
            return "0x" + sig.removeprefix("0x")
        raise RuntimeError(f"unsupported method {method}")


class CountingServer:
    """A loopback HTTP server that counts every request it receives (the isolation tests' "other host")."""

    def __init__(self) -> None:
        self.count = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _hit(self) -> None:
                outer.count += 1
                self.send_response(200)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"leak")

            do_GET = do_POST = do_PUT = do_OPTIONS = _hit  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> CountingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def simple_response(label: str, colour: str) -> str:
    """A small interactive HTML answer: a button that counts clicks."""
    return (
        f"<!doctype html><html><head><style>body{{font:16px sans-serif;background:{colour};margin:0;padding:1rem}}"
        f"</style></head><body><h3>{label}</h3><button id=b>clicks: 0</button><canvas id=c width=200 height=80>"
        "</canvas><script>let n=0;const b=document.getElementById('b');b.onclick=()=>{n++;b.textContent='clicks: '+n};"
        "const x=document.getElementById('c').getContext('2d');x.fillStyle='#333';x.fillRect(10,10,60,60);"
        "document.body.dataset.ready='1';</script></body></html>"
    )


def shot(page: Any, name: str, full_page: bool = True) -> Path:
    """A screenshot (whole page by default) into tests/e2e/artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 5000, f"screenshot {path} is suspiciously small"
    return path
