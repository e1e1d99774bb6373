"""The embedded local chain (DESIGN §6): a small ledger in one SQLite file shared by local processes.

Every write runs in ``BEGIN IMMEDIATE`` (one writer at a time across processes, others wait up
to the busy timeout), the file is in WAL mode so readers never block. The block number is
derived from the wall clock and the genesis time stored in the file. Emission is lazy: whoever
touches the chain first after an epoch has ended pays it out, inside the same write
transaction that advances ``last_emitted_epoch``, so each epoch is paid exactly once.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from dojo import __spec_version__
from dojo.chain.base import Metagraph, Neuron, checked_address
from dojo.chain.consensus import epoch_emission, normalize_clip, validator_permits
from dojo.errors import ChainError, NotRegistered, OutdatedVersion, RateLimited
from dojo.logs import log

logger = logging.getLogger("dojo.chain.local")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS neurons (
    uid INTEGER PRIMARY KEY,
    hotkey TEXT NOT NULL UNIQUE,
    coldkey TEXT NOT NULL,
    stake REAL NOT NULL DEFAULT 0,
    balance REAL NOT NULL DEFAULT 0,
    ip TEXT,
    port INTEGER,
    registered_block INTEGER NOT NULL,
    last_update INTEGER NOT NULL DEFAULT 0,
    weights_block INTEGER
);
CREATE TABLE IF NOT EXISTS weights (
    validator_uid INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    weight REAL NOT NULL,
    PRIMARY KEY (validator_uid, uid)
);
CREATE TABLE IF NOT EXISTS emissions (
    epoch INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    amount REAL NOT NULL,
    PRIMARY KEY (epoch, uid)
);
"""


@dataclass(frozen=True)
class ChainParams:
    """The rules of a local chain, fixed when its file is created."""

    netuid: int = 1
    block_time_s: float = 12.0
    epoch_blocks: int = 100
    weights_rate_limit: int = 100
    emission_per_epoch: float = 1.0
    max_weight: float = 1.0
    min_validator_stake: float = 1000.0
    max_validators: int = 64
    max_uids: int = 256

    def check(self) -> None:
        if self.block_time_s <= 0 or self.epoch_blocks < 1 or self.weights_rate_limit < 0:
            raise ChainError("block time must be > 0, epoch length ≥ 1 block, rate limit ≥ 0 blocks")
        if not 0 < self.max_weight <= 1 or self.emission_per_epoch < 0 or self.max_uids < 1:
            raise ChainError("max weight must be in (0, 1], emission ≥ 0, max uids ≥ 1")


@dataclass(frozen=True)
class Balance:
    """A neuron's accumulated emission."""

    uid: int
    hotkey: str
    coldkey: str
    stake: float
    balance: float


def check_ss58(value: str, what: str = "hotkey") -> str:
    """Return ``value`` when it is a Bittensor ss58 address, else raise a clear ``ChainError``."""
    from bittensor.wallets import is_bittensor_address

    if not isinstance(value, str) or not is_bittensor_address(value):
        raise ChainError(f"invalid {what} address {value!r}: expected an ss58 address (5…, 48 characters)")
    return value


def hotkey_of(wallet: Any) -> str:
    """The hotkey ss58 of a ``bt.Wallet`` (or an ss58 string, for scripts and tests)."""
    if isinstance(wallet, str):
        return check_ss58(wallet)
    try:
        return str(wallet.hotkey.ss58_address)
    except Exception as exc:  # noqa: BLE001 - the SDK raises several types for unreadable key files
        raise ChainError(f"cannot read the wallet's hotkey: {exc}") from exc


class LocalChain:
    """The ``local`` backend of the ``Chain`` protocol, over one SQLite file."""

    def __init__(
        self,
        path: str | Path,
        params: ChainParams | None = None,
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout_s: float = 30.0,
    ) -> None:
        """Open the chain at ``path``, creating it with ``params`` (or defaults) when it does not exist."""
        self.path = Path(path).expanduser()
        self._clock = clock
        self._lock = threading.Lock()
        if self.path.exists() and self.path.is_dir():
            raise ChainError(f"local chain path {self.path} is a directory, expected a file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            with self._write() as db:
                for stmt in filter(str.strip, _SCHEMA.split(";")):
                    db.execute(stmt)
                if db.execute("SELECT 1 FROM meta WHERE key = 'genesis_time'").fetchone() is None:
                    p = params or ChainParams()
                    p.check()
                    rows = [(k, repr(v)) for k, v in asdict(p).items()]
                    rows += [("genesis_time", repr(self._clock())), ("last_emitted_epoch", "-1")]
                    db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", rows)
                    log(logger, "chain.created", path=str(self.path), **asdict(p))
        except sqlite3.DatabaseError as exc:
            raise ChainError(f"cannot open the local chain at {self.path}: {exc}") from exc
        except OSError as exc:
            raise ChainError(f"cannot create the local chain at {self.path}: {exc.strerror or exc}") from exc
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        kinds = {f.name: f.type for f in fields(ChainParams)}
        values: dict[str, Any] = {k: (float if kinds[k] == "float" else int)(meta[k]) for k in kinds}
        self.params = ChainParams(**values)
        if params is not None and params != self.params:
            # The file's rules win (every process must agree); say so, since a stale file is a common surprise.
            changed = {k: v for k, v in asdict(params).items() if asdict(self.params)[k] != v}
            log(logger, "chain.rules_kept", level=logging.WARNING, path=str(self.path),
                hint="dojo chain init --reset starts a chain with the new rules", **{f"asked_{k}": v for k, v in changed.items()})  # fmt: skip
        self.genesis_time = float(meta["genesis_time"])
        self.netuid = self.params.netuid

    def close(self) -> None:
        """Close the SQLite connection."""
        self._db.close()

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: the file's write lock is taken at BEGIN, so read-modify-write is safe."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for reads (WAL: never blocked by a writer)."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            finally:
                self._db.execute("COMMIT")

    def _settle(self) -> int:
        """Pay out every ended epoch not paid yet; return the current block."""
        block = self.block()
        ended = block // self.params.epoch_blocks - 1
        with self._lock:
            paid = int(self._db.execute("SELECT value FROM meta WHERE key = 'last_emitted_epoch'").fetchone()[0])
        if paid >= ended:
            return block
        with self._write() as db:
            self._emit_ended_epochs(db, ended)
        return block

    def _emit_ended_epochs(self, db: sqlite3.Connection, ended: int) -> None:
        paid = int(db.execute("SELECT value FROM meta WHERE key = 'last_emitted_epoch'").fetchone()[0])
        if paid >= ended:  # another process paid while we waited for the lock
            return
        uids, stakes = self._stakes(db)
        for epoch in range(paid + 1, ended + 1):
            amounts = self._epoch_amounts(db, uids, stakes)
            for uid, amount in zip(uids, amounts, strict=True):
                if amount > 0:
                    db.execute("UPDATE neurons SET balance = balance + ? WHERE uid = ?", (float(amount), uid))
                    db.execute(
                        "INSERT INTO emissions (epoch, uid, amount) VALUES (?, ?, ?)", (epoch, uid, float(amount))
                    )
            log(logger, "chain.epoch", epoch=epoch, paid=round(float(amounts.sum()), 9) if len(uids) else 0.0)
        db.execute("UPDATE meta SET value = ? WHERE key = 'last_emitted_epoch'", (str(ended),))

    def _stakes(self, db: sqlite3.Connection) -> tuple[list[int], np.ndarray]:
        rows = db.execute("SELECT uid, stake FROM neurons ORDER BY uid").fetchall()
        return [r[0] for r in rows], np.array([r[1] for r in rows], dtype=np.float64)

    def _permits(self, stakes: np.ndarray) -> np.ndarray:
        p = self.params
        return validator_permits(stakes, p.max_validators, p.min_validator_stake)

    def _epoch_amounts(self, db: sqlite3.Connection, uids: list[int], stakes: np.ndarray) -> np.ndarray:
        if not uids:
            return np.zeros(0)
        index = {uid: i for i, uid in enumerate(uids)}
        permits = self._permits(stakes)
        validators = sorted({r[0] for r in db.execute("SELECT validator_uid FROM weights")} & set(uids))
        validators = [v for v in validators if permits[index[v]]]
        matrix = np.zeros((len(validators), len(uids)))
        rows = {v: i for i, v in enumerate(validators)}
        for v, uid, w in db.execute("SELECT validator_uid, uid, weight FROM weights"):
            if v in rows and uid in index:
                matrix[rows[v], index[uid]] = w
        val_stakes = np.array([stakes[index[v]] for v in validators])
        return epoch_emission(matrix, val_stakes, self.params.emission_per_epoch)

    # -- the Chain protocol -------------------------------------------------------------------

    def block(self) -> int:
        """Blocks since genesis, at ``block_time_s`` each."""
        return max(0, int(math.floor((self._clock() - self.genesis_time) / self.params.block_time_s)))

    def metagraph(self) -> Metagraph:
        """Every registered uid with stake, permit, address and last update."""
        block = self._settle()
        with self._read() as db:
            rows = db.execute(
                "SELECT uid, hotkey, coldkey, stake, ip, port, last_update FROM neurons ORDER BY uid"
            ).fetchall()
        permits = self._permits(np.array([r[3] for r in rows], dtype=np.float64))
        neurons = tuple(
            Neuron(
                uid=r[0],
                hotkey=r[1],
                coldkey=r[2],
                stake=r[3],
                validator_permit=bool(permits[i]),
                ip=r[4],
                port=r[5],
                last_update=r[6],
            )
            for i, r in enumerate(rows)
        )
        return Metagraph(netuid=self.netuid, block=block, neurons=neurons)

    def publish_address(self, wallet: Any, ip: str, port: int) -> None:
        """Publish ``ip:port`` for the wallet's hotkey."""
        hotkey = hotkey_of(wallet)
        ip = checked_address(ip, port)
        block = self._settle()
        with self._write() as db:
            cur = db.execute(
                "UPDATE neurons SET ip = ?, port = ?, last_update = MAX(last_update, ?) WHERE hotkey = ?",
                (ip, port, block, hotkey),
            )
            if cur.rowcount == 0:
                raise NotRegistered(f"hotkey {hotkey} is not registered on local subnet {self.netuid}")
        log(logger, "chain.address", hotkey=hotkey, ip=ip, port=port)

    def set_weights(self, wallet: Any, weights: dict[int, float], version_key: int = __spec_version__) -> None:
        """Set the wallet's weights: normalised, clipped to max weight, at most once per rate-limit window,
        refused when ``version_key`` is older than the chain's ``weights_version``."""
        hotkey = hotkey_of(wallet)
        if not weights:
            raise ChainError("no weights given: expected at least one {uid: weight}")
        try:
            keys = [int(k) for k in weights]
            values = normalize_clip(np.array([float(weights[k]) for k in weights]), self.params.max_weight)
        except (TypeError, ValueError) as exc:
            raise ChainError(f"invalid weights: {exc}") from exc
        self._settle()
        with self._write() as db:
            block = self.block()
            ended = block // self.params.epoch_blocks - 1
            self._emit_ended_epochs(db, ended)  # pay the past with the old weights first
            row = db.execute("SELECT uid, weights_block, stake FROM neurons WHERE hotkey = ?", (hotkey,)).fetchone()
            if row is None:
                raise NotRegistered(f"hotkey {hotkey} is not registered on local subnet {self.netuid}")
            uid, last, _ = row
            required = self._weights_version(db)
            if version_key < required:
                raise OutdatedVersion(
                    f"weights of uid {uid} refused: version_key {version_key} is older than the subnet's required "
                    f"weights_version {required}: update Dojo",
                    required=required,
                    sent=version_key,
                )
            if last is not None and block - last < self.params.weights_rate_limit:
                wait = self.params.weights_rate_limit - (block - last)
                raise RateLimited(
                    f"weights for uid {uid} were set at block {last}; the rate limit is "
                    f"{self.params.weights_rate_limit} blocks, wait {wait} more block(s)",
                    blocks_to_wait=wait,
                )
            uids, stakes = self._stakes(db)
            if not self._permits(stakes)[uids.index(uid)]:
                raise ChainError(f"uid {uid} has no validator permit: stake more to set weights")
            unknown = sorted(set(keys) - set(uids))
            if unknown:
                raise ChainError(f"weights name unregistered uid(s) {unknown[:10]}")
            db.execute("DELETE FROM weights WHERE validator_uid = ?", (uid,))
            db.executemany(
                "INSERT INTO weights (validator_uid, uid, weight) VALUES (?, ?, ?)",
                [(uid, k, float(v)) for k, v in zip(keys, values, strict=True) if v > 0],
            )
            db.execute("UPDATE neurons SET weights_block = ?, last_update = ? WHERE uid = ?", (block, block, uid))
        log(logger, "chain.weights", uid=uid, block=block, n=len(keys), version_key=version_key)

    @staticmethod
    def _weights_version(db: sqlite3.Connection) -> int:
        row = db.execute("SELECT value FROM meta WHERE key = 'weights_version'").fetchone()
        return int(row[0]) if row else 0

    def weights_version(self) -> int:
        """The lowest ``version_key`` the subnet accepts with weights (0: any)."""
        with self._read() as db:
            return self._weights_version(db)

    def set_weights_version(self, version: int) -> None:
        """Require at least ``version`` as ``version_key`` (the subnet owner's hyperparameter on a real chain)."""
        if version < 0:
            raise ChainError(f"weights_version must be ≥ 0, got {version}")
        with self._write() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('weights_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (str(int(version)),),
            )
        log(logger, "chain.weights_version", version=version)

    def weights(self) -> dict[int, dict[int, float]]:
        """Every validator's last weights, normalised to sum 1."""
        self._settle()
        out: dict[int, dict[int, float]] = {}
        with self._read() as db:
            for v, uid, w in db.execute("SELECT validator_uid, uid, weight FROM weights ORDER BY validator_uid, uid"):
                out.setdefault(v, {})[uid] = w
        return out

    # -- local-only operations ----------------------------------------------------------------

    def register(self, hotkey: str, coldkey: str) -> int:
        """Register a hotkey owned by ``coldkey``; return its uid (the same uid when already registered)."""
        check_ss58(hotkey, "hotkey")
        check_ss58(coldkey, "coldkey")
        block = self._settle()
        with self._write() as db:
            row = db.execute("SELECT uid, coldkey FROM neurons WHERE hotkey = ?", (hotkey,)).fetchone()
            if row is not None:
                if row[1] != coldkey:
                    raise ChainError(f"hotkey {hotkey} is already registered to another coldkey ({row[1]})")
                return int(row[0])
            uid = int(db.execute("SELECT COUNT(*) FROM neurons").fetchone()[0])
            if uid >= self.params.max_uids:
                raise ChainError(f"the subnet is full: {self.params.max_uids} uids registered")
            db.execute(
                "INSERT INTO neurons (uid, hotkey, coldkey, registered_block, last_update) VALUES (?, ?, ?, ?, ?)",
                (uid, hotkey, coldkey, block, block),
            )
        log(logger, "chain.registered", uid=uid, hotkey=hotkey)
        return uid

    def add_stake(self, hotkey: str, amount: float) -> float:
        """Add ``amount`` (> 0) to a registered hotkey's stake; return the new stake."""
        if not isinstance(amount, (int, float)) or not math.isfinite(amount) or amount <= 0:
            raise ChainError(f"invalid stake amount {amount!r}: expected a number > 0")
        self._settle()
        with self._write() as db:
            cur = db.execute("UPDATE neurons SET stake = stake + ? WHERE hotkey = ?", (float(amount), hotkey))
            if cur.rowcount == 0:
                raise NotRegistered(f"hotkey {hotkey} is not registered on local subnet {self.netuid}")
            stake = float(db.execute("SELECT stake FROM neurons WHERE hotkey = ?", (hotkey,)).fetchone()[0])
        log(logger, "chain.staked", hotkey=hotkey, amount=amount, stake=stake)
        return stake

    def balances(self) -> list[Balance]:
        """Each neuron's stake and accumulated emission."""
        self._settle()
        with self._read() as db:
            rows = db.execute("SELECT uid, hotkey, coldkey, stake, balance FROM neurons ORDER BY uid").fetchall()
        return [Balance(*r) for r in rows]

    def emissions(self, epoch: int) -> dict[int, float]:
        """What each uid received in ``epoch`` (empty when nothing was paid)."""
        self._settle()
        with self._read() as db:
            rows = db.execute("SELECT uid, amount FROM emissions WHERE epoch = ?", (epoch,)).fetchall()
        return {int(u): float(a) for u, a in rows}

    def last_emitted_epoch(self) -> int:
        """The last epoch paid out (-1 before the first)."""
        with self._read() as db:
            return int(db.execute("SELECT value FROM meta WHERE key = 'last_emitted_epoch'").fetchone()[0])
