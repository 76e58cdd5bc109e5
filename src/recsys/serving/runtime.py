"""The served model, its durable event log and the member-id policy; no HTTP in here."""

from __future__ import annotations

import dataclasses
import fcntl
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import pandas as pd

from recsys.data.events import EventColumns, validate_events
from recsys.events import SEQ, AppendResult, EventLog, LoggedChange
from recsys.events.erasure import ERASE_KIND
from recsys.events.impressions import Impression
from recsys.exceptions import (
    ArtifactError,
    EventLogError,
    InvalidInputError,
    PayloadTooLargeError,
    RecsysError,
    UnknownIdError,
)
from recsys.privacy import Pseudonymizer
from recsys.recommender import MemberScore, PendingChange, Recommendation, Recommender
from recsys.recommender.updates import PendingEvents
from recsys.serving.impressions import ImpressionWriter, new_shelf_id, now_text
from recsys.serving.settings import ServiceSettings

__all__ = ["ChangeResult", "ForgetResult", "OptOutResult", "RecsysRuntime"]

logger = logging.getLogger("recsys.serving")

_REPLAY_CHUNK: Final = 10_000
_RELOAD_LEAD_MIN: Final = 0.5  # seconds from a reload being logged to every worker's swap
_RELOAD_LEAD_MAX: Final = 60.0
#: events a read applies of what other workers logged, at most: a bigger backlog is the
#: follower thread's, applied in chunks of _FOLLOW_CHUNK between which reads get the lock
_READ_BUDGET: Final = 64
#: how long a logged change may wait for a read to apply it before the follower does
_CHANGE_GRACE: Final = 0.05  # seconds
#: how long a read waits for the follower applying a change (then it serves as it is)
_CHANGE_WAIT: Final = 1.0  # seconds
_FOLLOW_CHUNK: Final = _REPLAY_CHUNK  # one fold-in per member per chunk: chunks cost
_FOLLOW_INTERVAL: Final = 0.02  # seconds between two looks at the log
#: logged by a reload, so that every worker swaps to the same model
RELOAD_KIND: Final = "reload"
#: logged by an opt-out: the member never appears in an audience again
OPT_OUT_KIND: Final = "optout"
#: logged by an audience with ``issue``: coupons the caps count from then on
COUPON_KIND: Final = "coupons"
#: the variant of a service that runs no experiment
DEFAULT_VARIANT: Final = "default"
_T = TypeVar("_T")


@dataclass(frozen=True)
class ForgetResult:
    """What one erasure did: whether the member was known, and its ``change_seq``."""

    forgotten: bool
    change_seq: int


@dataclass(frozen=True)
class OptOutResult:
    """What one opt-out did: whether the member was known, and its ``change_seq``."""

    known: bool
    change_seq: int


@dataclass(frozen=True)
class ChangeResult:
    """What one catalog or stock change did: ``applied`` rows, ``added`` new SKUs, and its
    ``change_seq`` in the log (durable before the answer)."""

    applied: int
    added: int
    change_seq: int


class RecsysRuntime:
    """The loaded recommender, its event log and the id policy; no HTTP in here.

    Parameters
    ----------
    settings : ServiceSettings
    recommender : Recommender, optional
        Serve this object instead of loading ``settings.model_dir``.

    Notes
    -----
    Construction replays the event log rows after ``recommender.event_seq`` into the model.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        recommender: Recommender | None = None,
        *,
        variant: str = DEFAULT_VARIANT,
    ) -> None:
        self._starting = True
        self.variant = variant
        self.settings = settings
        if recommender is None:
            if not settings.model_dir.is_dir():
                raise ArtifactError(f"model directory {settings.model_dir} does not exist")
            recommender = Recommender.load(settings.model_dir)
        self.recommender = recommender
        self.pseudonymizer = settings.pseudonymizer
        if self.pseudonymizer is not None:
            if not self.pseudonymizer.check_marker(settings.model_dir):
                raise ArtifactError(
                    f"RECSYS_PSEUDONYM_KEY is set but the model in {settings.model_dir} was "
                    "trained on raw member ids: no member would be found and everyone would "
                    "get the popularity shelf. Retrain with `recsys train --pseudonymize` "
                    "and this key, or unset RECSYS_PSEUDONYM_KEY to serve raw ids"
                )
        elif Pseudonymizer.read_marker(settings.model_dir) is not None:
            raise ArtifactError(
                f"the model in {settings.model_dir} was trained on pseudonymized member ids: "
                "set RECSYS_PSEUDONYM_KEY to the training key"
            )
        self.log = EventLog(settings.event_log, synchronous=settings.event_sync)  # type: ignore[arg-type]
        self._events_lock = threading.Lock()
        self._reads_lock = threading.Lock()  # one read's refresh at a time
        self._digester: Callable[[str], str] | None = None
        self._digests: list[str] = []  # erasure digest of each member id, in internal order
        self._unsaved_erasure = False
        self._write_error: EventLogError | None = None
        self.applied_seq = int(getattr(recommender, "event_seq", 0) or 0)
        self.applied_change = int(getattr(recommender, "change_seq", 0) or 0)
        self._check_cursors()
        with self._events_lock:
            self._seen_version = self.log.data_version()
            self._behind = False  # a read's catch-up stopped at its budget, more to come
            self._pending_reload: tuple[Path, float] | None = None
            self._following_change = False
            self._token = uuid.uuid4().hex  # tells this runtime's own logged reloads apart
            self._budget: int | None = None
            self.replayed = self._catch_up()
        if self.replayed:
            logger.info("replayed %d logged events into the model", self.replayed)
        self._starting = False
        # a connection of its own: its commits never hold the lock the request path reads under
        self.impressions = ImpressionWriter(
            EventLog(settings.event_log, synchronous=settings.event_sync),  # type: ignore[arg-type]
            close_log=True,
        )
        self._stop = threading.Event()
        #: called with the new model version after every swap (a reload), from any thread
        self.on_swap: Callable[[str], None] | None = None
        self._follower = threading.Thread(target=self._follow, name="recsys-follow", daemon=True)
        self._follower.start()
        if self._unsaved_erasure:  # erasures the saved model predates: rewrite it now
            self._save_model()
            logger.info("re-applied logged erasures to the saved model")

    def _check_cursors(self) -> None:
        """A model whose cursors lie beyond this log's end was saved against another log
        (a new or moved log file): it has seen none of this one, so replay it all rather
        than skip its first rows."""
        last_event, last_change = self.log.high_water()
        if self.applied_seq > last_event or self.applied_change > last_change:
            logger.warning(
                "the model was saved against another event log (cursor %d/%d, this log "
                "ends at %d/%d): replaying this log from its start",
                self.applied_seq,
                self.applied_change,
                last_event,
                last_change,
            )
            self.applied_seq = self.applied_change = 0
            self.recommender.event_seq = self.recommender.change_seq = 0

    def lag(self) -> int:
        """Event-log rows logged (by any worker) that this worker has not applied yet."""
        return max(0, self.log.high_water()[0] - self.applied_seq)

    # ------------------------------------------------------------------ health
    def ready(self) -> bool:
        """Whether writes can be acknowledged: the log file is the one opened and the last
        write did not fail (``/readyz`` answers 503 otherwise)."""
        try:
            if self._write_error is None:
                self.log.check()
            else:  # the last write failed: ready again once the log takes the write lock
                self.log.probe_write()
                self._write_error = None
        except EventLogError:
            return False
        return True

    def _durably(self, write: Callable[[], _T]) -> _T:
        """Run one log write, remembering whether the log could take it."""
        try:
            out = write()
        except EventLogError as exc:
            logger.error("event log write failed: %s", exc)
            self._write_error = exc
            raise
        self._write_error = None
        return out

    # ------------------------------------------------------------------ ids
    def member(self, member_id: str) -> str:
        """The id the model knows a member by (its pseudonym when configured)."""
        return member_id if self.pseudonymizer is None else self.pseudonymizer(member_id)

    def _boundary(self, event: dict[str, Any]) -> dict[str, Any]:
        """An event as it may be stored: member id and ``event_id`` pseudonymized (anything
        else, e.g. a missing or numeric member id, is left for the event schema to refuse)."""
        out = dict(event)
        if isinstance(event.get("user_id"), str):
            out["user_id"] = self.member(event["user_id"])
        if self.pseudonymizer is not None and isinstance(event.get("event_id"), str):
            out["event_id"] = self.pseudonymizer.event_id(event["event_id"])
        return out

    @property
    def model_version(self) -> str:
        return self.recommender.model_version

    # ------------------------------------------------------------------ reads
    def recommend(
        self,
        member_id: str | None,
        k: int,
        *,
        store_id: str | None = None,
        profile: Mapping[str, Any] | None = None,
        filters: Mapping[str, Any] | None = None,
        exclude_purchased: bool = True,
        rules: Mapping[str, Any] | None = None,
    ) -> list[Recommendation]:
        if member_id is None and not profile:
            raise InvalidInputError("give a member_id, a profile, or both")
        self.refresh()
        return self.recommender.recommend(
            None if member_id is None else self.member(member_id),
            k,
            store_id=store_id,
            profile=profile,
            filters=filters,
            exclude_purchased=exclude_purchased,
            rules=rules,
        )

    def fallback_of(
        self, member_id: str | None, profile: Mapping[str, Any] | None, store_id: str | None
    ) -> str | None:
        """See :meth:`Recommender.fallback_of` (``member_id`` raw)."""
        member = None if member_id is None else self.member(member_id)
        return self.recommender.fallback_of(member, profile=profile, store_id=store_id)

    def check_batch(self, member_ids: Sized, k: int) -> None:
        """Refuse an empty batch (422) and one over the size limits (413)."""
        _bounded(member_ids, self.settings.max_batch, "members", "member_ids must not be empty")
        slots = self.settings.max_batch_slots
        if len(member_ids) * k > slots:
            raise PayloadTooLargeError(
                f"{len(member_ids)} members x k={k} is {len(member_ids) * k:,} shelf slots; "
                f"at most {slots:,} per call (RECSYS_MAX_BATCH_SLOTS): lower k or split"
            )

    def recommend_batch(
        self,
        member_ids: list[str],
        k: int,
        *,
        store_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        exclude_purchased: bool = True,
        rules: Mapping[str, Any] | None = None,
    ) -> list[list[Recommendation]]:
        self.check_batch(member_ids, k)
        self.refresh()
        return self.recommender.recommend_batch(
            [self.member(m) for m in member_ids],
            k,
            store_id=store_id,
            filters=filters,
            exclude_purchased=exclude_purchased,
            rules=rules,
        )

    def similar(
        self,
        item_id: str,
        k: int,
        *,
        store_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Recommendation]:
        self.refresh()
        return self.recommender.similar_items(item_id, k, store_id=store_id, filters=filters)

    def audience(
        self,
        item_id: str,
        k: int,
        *,
        store_id: str | None = None,
        exclude_purchased: bool = True,
        min_score: float | None = None,
        caps: Mapping[str, Any] | None = None,
        budgets: Mapping[str, int] | None = None,
        issue: bool = False,
    ) -> tuple[list[MemberScore], int | None]:
        """The audience, and with ``issue`` the coupons recorded durably for every member in
        it (on every worker); returns the members and the issue's ``change_seq``."""
        ask = functools.partial(
            self.recommender.audience,
            item_id,
            k,
            store_id=store_id,
            exclude_purchased=exclude_purchased,
            min_score=min_score,
            caps=caps,
            budgets=budgets,
        )
        if not issue:
            self.refresh()
            return ask(), None
        with self._events_lock:  # no other issue between choosing and recording
            self._catch_up()
            at = time.time()
            members = ask(at=at)
            if not members:
                return members, None
            aliases = [m.member_id for m in members]
            payload = {"item_id": item_id, "members": aliases, "at": at}
            seq = self._logged_change(
                COUPON_KIND,
                payload,
                lambda: self.recommender.issue_coupons(item_id, aliases, at=at),
            )
        return members, seq

    def member_view(self, member_id: str, store_id: str | None) -> dict[str, Any]:
        """What a shop assistant sees (``POST /member``): tags, today's events, a coupon."""
        if not isinstance(member_id, str) or not member_id:
            raise InvalidInputError("member_id must be a non-empty string")
        self.refresh()
        alias = self.member(member_id)
        rec = self.recommender
        if store_id is not None and store_id not in (stores := rec.store_ids):
            raise UnknownIdError("store", [store_id], known=len(stores))  # as every route
        known = rec.members_.known(alias)
        midnight = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()
        today = self.log.member_events(alias, midnight)
        today["timestamp"] = today["timestamp"].map(lambda t: t.isoformat())
        today["store_id"] = today["store_id"].astype(object).where(today["store_id"].notna(), None)
        fields = ["item_id", "kind", "value", "timestamp", "store_id"]
        events = today[fields].to_dict("records")
        coupon = None
        if known and rec.may_get_coupon(alias):
            shelf = rec.recommend(alias, 1, store_id=store_id)
            if shelf:
                name = rec.item_details([shelf[0].item_id])[0]["name"]
                coupon = {"item_id": shelf[0].item_id, "reason": shelf[0].reason, "name": name}
        return {
            "member_id": member_id,
            "known": known,
            "profile": rec.profile_of(alias),
            "today": events,
            "coupon": coupon,
            "model_version": self.model_version,
        }

    # ------------------------------------------------------------------ events
    def refresh(self) -> int:
        """Fold in events other server workers logged since the last look.

        Every worker holds its own copy of the model; they share the event log. A read
        route calls this first: one ``PRAGMA data_version`` when nothing changed, a
        catch-up from the log when another worker committed. When an ``/events`` call of
        this worker is running, it returns at once (that call catches up itself); when
        another read is catching up, it waits for that read, and sees what it applied.

        Returns
        -------
        int
            Events applied.
        """
        # reads at once (a page asks for the member and the shelf together) take turns: the
        # second waits for the first one's catch-up (a read's budget) instead of answering
        # from the model as it was before it
        if not self._reads_lock.acquire(timeout=_CHANGE_WAIT):
            return 0
        try:
            if not self._events_lock.acquire(blocking=False) and not (
                # the follower is applying a change: a moment's wait, and this read sees it
                self._following_change and self._events_lock.acquire(timeout=_CHANGE_WAIT)
            ):
                return 0
            try:
                version = self.log.data_version()
                if version == self._seen_version and not self._behind:
                    return 0
                self._seen_version = version
                if not self._behind and self._caught_up():
                    return 0  # the commit was something else: shown shelves, most often
                return self._catch_up(budget=_READ_BUDGET)  # the rest: the next reads
            finally:
                self._events_lock.release()
        finally:
            self._reads_lock.release()

    def _caught_up(self) -> bool:
        """Whether nothing was logged past this runtime's cursors: two integers from
        SQLite's sequence table, far cheaper than reading the tables."""
        return self.log.high_water() == (self.applied_seq, self.applied_change)

    def _follow(self) -> None:
        """Thread: fold in a big backlog other workers logged (a 10,000-event batch), in
        chunks, off the event loop, and every change they logged (a reload, a catalog or
        stock change) that no read took up within ``_CHANGE_GRACE``, so a worker no request
        reaches follows too; reads meanwhile serve the model as it is."""
        failing = False
        pending_since: float | None = None  # when a change was first seen not applied
        while not self._stop.wait(_FOLLOW_INTERVAL):
            try:
                pending, self._pending_reload = self._pending_reload, None
                if pending is not None:
                    self._follow_reload(*pending)
                events, changes = self.log.high_water()
                if events - self.applied_seq <= _READ_BUDGET:
                    if changes <= self.applied_change:
                        pending_since = None
                        continue  # a few events: the next read folds them in, and sees them
                    # a change (a reload, a catalog or stock change) no read took up: now,
                    # so a worker no request reaches follows it too (a reload at its instant)
                    now = time.monotonic()
                    pending_since = pending_since or now
                    if now - pending_since >= _CHANGE_GRACE:
                        self._follow_change()
                        pending_since = None
                    continue
                behind = True
                while behind and not self._stop.is_set():
                    with self._events_lock:
                        self._catch_up(budget=_FOLLOW_CHUNK)
                        behind = self._behind
                failing = False
            except RecsysError as exc:  # a log gone bad: /readyz says so; retry later
                if not failing:
                    logger.error("could not follow the event log: %s", exc)
                failing = True

    def _follow_change(self) -> None:
        """Catch up with a change no read took up; a read meanwhile waits for it."""
        self._following_change = True
        try:
            with self._events_lock:
                self._catch_up(budget=_READ_BUDGET)
        finally:
            self._following_change = False

    def follow(self) -> None:
        """Catch up with everything logged now, and rewrite the saved model if that brought
        an erasure (a variant's model, after another runtime's ``/forget``)."""
        with self._events_lock:
            self._catch_up()
            if self._unsaved_erasure:
                self._save_model()

    def ingest(
        self,
        events: list[dict[str, Any]],
        profiles: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> AppendResult:
        """Validate, log durably, then apply a batch of events (see the module docstring).

        Parameters
        ----------
        events : list of dict
            Event fields of :meth:`EventLog.append`; ``user_id`` are raw ids.
        profiles : dict of member id to tags, optional
            Logged as a ``profiles`` change just before the events, and set before them.

        Returns
        -------
        AppendResult
            ``accepted`` (new in the log), ``duplicates`` (``event_id`` already logged),
            ``last_seq``.
        """
        if profiles and not events:  # tags alone (a QR-code sign-up)
            return self._profiles_alone(profiles)
        empty = "no events given: send {'events': [...]} with at least one, or 'profiles'"
        _bounded(events, self.settings.max_events, "events", empty)
        records = [self._boundary(e) for e in events]
        checked = validate_events(records)  # once, for the model and the log (4xx here)
        tags = {self.member(m): dict(t) for m, t in (profiles or {}).items()}
        with self._events_lock:
            # 4xx here: nothing written, nothing applied
            if tags:
                self.recommender.check_events(checked, tags)
                pending = None
            else:  # checked and prepared once, put in effect once logged
                pending = self.recommender.prepare_update(checked)
            if tags:
                self._logged_change(
                    "profiles", {"profiles": tags}, lambda: self.recommender.set_profiles(tags)
                )
            before = self.applied_seq
            result = self._durably(
                lambda: self.log.append(checked)
            )  # durable (committed, fsync'ed) from here on
            if result.accepted == len(records) and result.last_seq == before + len(records):
                # the log holds exactly these rows after the cursor: apply them as they are
                # instead of reading them back (saves a query and a DataFrame per call)
                self._apply_rows(checked, result.last_seq, pending)
            elif result.accepted:
                self._catch_up()  # duplicates or rows from another writer: the log decides
        return result

    def _profiles_alone(self, profiles: Mapping[str, Mapping[str, Any]]) -> AppendResult:
        """:meth:`ingest` of profiles without events: checked, logged durably, set."""
        _bounded(profiles, self.settings.max_events, "profiles", "no profiles given")
        tags = {self.member(m): dict(t) for m, t in profiles.items()}
        with self._events_lock:
            self.recommender.check_events([], tags)  # 4xx here: nothing written
            self._logged_change(
                "profiles", {"profiles": tags}, lambda: self.recommender.set_profiles(tags)
            )
            return AppendResult(accepted=0, duplicates=0, last_seq=self.applied_seq)

    def add_items(
        self, items: list[dict[str, Any]], stores: Mapping[str, Sequence[str]] | None
    ) -> ChangeResult:
        """Check, log durably, then apply SKUs added or changed (``POST /catalog``)."""
        empty = "no SKUs given: send {'items': [...]} with at least one"
        _bounded(items, self.settings.max_events, "SKUs", empty)
        at = time.time()
        payload = {"items": items, "stores": None if stores is None else dict(stores), "at": at}

        def prepare() -> PendingChange:
            return self.recommender.prepare_items(items, stores, at=at)

        return self._change("items", payload, prepare, len(items))

    def set_stock(self, store_id: str, stock: Mapping[str, float]) -> ChangeResult:
        """Check, log durably, then apply a store's stock (``POST /stock``)."""
        empty = "no stock given: send {'store_id': ..., 'stock': {sku: n}}"
        _bounded(stock, self.settings.max_events, "SKUs", empty)
        payload = {"store_id": store_id, "stock": dict(stock)}

        def prepare() -> PendingChange:
            return self.recommender.prepare_stock(store_id, stock)

        return self._change("stock", payload, prepare, len(stock))

    def _change(
        self,
        kind: str,
        payload: dict[str, Any],
        prepare: Callable[[], PendingChange],
        rows: int,
    ) -> ChangeResult:
        with self._events_lock:
            self._catch_up()  # prepare on everything logged so far
            change = prepare()  # 4xx here: nothing written, nothing applied
            seq = self._logged_change(kind, payload, lambda: self.recommender.commit(change))
        return ChangeResult(applied=rows, added=change.added, change_seq=seq)

    def _logged_change(self, kind: str, payload: dict[str, Any], commit: Callable[[], int]) -> int:
        """Log a checked change durably, then put it in effect in log order (caller holds
        the lock); returns its ``change_seq``."""
        logged = self._durably(lambda: self.log.append_change(kind, payload))  # durable
        if (logged.change_seq, logged.after_event) == (self.applied_change + 1, self.applied_seq):
            commit()  # nobody else wrote in between
            self._moved_to(logged)
        else:
            self._catch_up()  # another worker wrote first: the log's order decides
        return logged.change_seq

    # ------------------------------------------------------------------ reload
    def reload(self, model_dir: Path | None = None) -> tuple[str, str]:
        """Swap in the saved model at ``model_dir`` (default: the served directory again,
        e.g. after ``recsys train --out`` replaced it), without dropping a request.

        The new model is loaded while this one keeps answering, and the reload is logged
        with the instant every worker swaps at: twice this worker's loading time from now
        (at least 0.5 s, at most 60 s), time for the others to load it too. At that instant
        each worker catches its new model up with the log from its own cursors and swaps
        in one assignment, so answers change ``model_version`` at one instant everywhere
        (a worker slower to load swaps when it is ready, and says so in its log). Returns
        (previous, new) model versions, once this worker has swapped.
        """
        try:
            path = Path(model_dir or self.settings.model_dir).expanduser().resolve()
            path.is_dir()  # a path the OS cannot take (a null byte) fails here
        except (OSError, ValueError, RuntimeError) as exc:
            raise InvalidInputError(
                f"cannot reload: model_dir is not a usable path ({exc})"
            ) from None
        started = time.monotonic()
        staged = self._stage(path)
        try:
            lead = min(_RELOAD_LEAD_MAX, max(_RELOAD_LEAD_MIN, 2 * (time.monotonic() - started)))
            at = time.time() + lead
            with self._events_lock:
                previous = self.model_version
                payload = {
                    "model_dir": str(path),
                    "model_version": staged.model_version,
                    "variant": self.variant,
                    "at": at,
                    "by": self._token,
                }
                self._logged_change(RELOAD_KIND, payload, lambda: 0)
            self._swap_at(staged, at)
        finally:
            staged.close()
        return previous, self.model_version

    def _stage(self, path: Path) -> RecsysRuntime:
        """The model at ``path`` loaded and caught up with the log, beside this one."""
        settings = dataclasses.replace(self.settings, model_dir=path)
        try:
            if not path.is_dir():
                raise ArtifactError(f"{path} is not a directory written by Recommender.save()")
            return RecsysRuntime(settings, variant=self.variant)
        except ArtifactError as exc:
            raise InvalidInputError(f"cannot reload: {exc}") from exc

    def _swap_at(self, staged: RecsysRuntime, at: float) -> None:
        """Wait for the instant ``at`` (epoch seconds), then swap ``staged`` in."""
        wait = at - time.time()
        if wait > 0:
            if self._stop.wait(wait):
                return  # shutting down: no swap
        elif wait < -0.05:
            logger.warning("swapped to the reloaded model %.2f s after the others", -wait)
        with self._events_lock:
            staged._catch_up()  # what was logged while it loaded and waited
            self.recommender = staged.recommender  # the swap: one assignment
            self.applied_seq, self.applied_change = staged.applied_seq, staged.applied_change
            self.settings = staged.settings
            self._digests = []
        logger.info("reloaded the model: now version %s", self.model_version)
        if self.on_swap is not None:
            self.on_swap(self.model_version)

    def _follow_reload(self, path: Path, at: float) -> None:
        """Another worker reloaded: load the same model, swap at the same instant."""
        try:
            staged = self._stage(path)
        except RecsysError as exc:
            logger.error("could not follow a reload, serving the model as it was: %s", exc)
            return
        try:
            self._swap_at(staged, at)
        finally:
            staged.close()

    # ------------------------------------------------------------------ consent
    def opt_out(self, member_id: str) -> OptOutResult:
        """Keep a member out of every audience, durably and on every worker
        (``POST /optout``)."""
        if not isinstance(member_id, str) or not member_id:
            raise InvalidInputError("member_id must be a non-empty string")
        alias = self.member(member_id)
        with self._events_lock:
            self._catch_up()
            known = self.recommender.members_.known(alias)
            seq = self._logged_change(
                OPT_OUT_KIND, {"member_id": alias}, lambda: int(self.recommender.opt_out(alias))
            )
        return OptOutResult(known=known, change_seq=seq)

    # ------------------------------------------------------------------ erasure
    def forget(self, member_id: str) -> ForgetResult:
        """Erase a member everywhere this service keeps them (``POST /forget``).

        In order, under the log's lock: the log deletes the member's events and logged
        profile and records the erasure (durable from here on: a crash re-applies it at
        the next start); the model forgets them; the saved model is rewritten without
        them. Every other worker forgets them on its next read.
        """
        if not isinstance(member_id, str) or not member_id:
            raise InvalidInputError("member_id must be a non-empty string")
        alias = self.member(member_id)
        with self._events_lock:
            self._catch_up()
            known = self.recommender.members_.index_of(alias) >= 0
            logged = self._durably(lambda: self.log.forget(alias))  # durable from here on
            self._catch_up()  # applies the erasure, in log order
            self._save_model()
        return ForgetResult(forgotten=known, change_seq=logged.change_seq)

    def _forget_logged(self, digest: str) -> bool:
        """Forget the member whose erasure digest this is; whether one was known."""
        members = self.recommender.members_
        ids = members.ids()
        if self._digester is None:
            self._digester = self.log.digester()
        for member in ids[len(self._digests) :].tolist():  # members only ever append
            self._digests.append(self._digester(str(member)))
        hits = [i for i, d in enumerate(self._digests) if d == digest]
        found = False
        for i in hits:
            found |= self.recommender.forget(str(ids[i]))
            self._digests[i] = ""  # its id is a placeholder now
        return found

    def _save_model(self) -> None:
        """Rewrite the saved model from this worker's state (one writer at a time)."""
        path = self.settings.model_dir
        if not path.is_dir():
            return
        lock = path.parent / f".{path.name}.lock"
        with open(lock, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                self.recommender.save(path)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        self._unsaved_erasure = False

    def _moved_to(self, change: LoggedChange) -> None:
        # forward only: a reload inside a catch-up may have moved past this change already
        self.applied_change = max(self.applied_change, change.change_seq)
        self.recommender.change_seq = self.applied_change

    def _apply_change(self, change: LoggedChange) -> None:
        payload = change.payload
        try:
            if change.kind == "items":
                self.recommender.add_items(
                    payload["items"], payload.get("stores"), at=payload["at"]
                )
            elif change.kind == "profiles":
                if payload["profiles"]:  # an erasure may have emptied it
                    self.recommender.set_profiles(payload["profiles"])
            elif change.kind == OPT_OUT_KIND:
                self.recommender.opt_out(payload["member_id"])
            elif change.kind == COUPON_KIND:
                members = self.recommender.members_
                known = [m for m in payload["members"] if members.index_of(m) >= 0]
                if known:  # an erasure may have emptied it, a retrained model lost some
                    self.recommender.issue_coupons(payload["item_id"], known, at=payload["at"])
            elif change.kind == RELOAD_KIND:
                # another worker reloaded: the follower thread loads the model and swaps at
                # the logged instant (at start-up the configured model stands)
                mine = payload.get("variant", DEFAULT_VARIANT) == self.variant
                if (
                    mine
                    and not self._starting
                    and payload.get("by") != self._token
                    and payload["model_version"] != self.model_version
                ):
                    self._pending_reload = (Path(payload["model_dir"]), payload.get("at", 0.0))
            elif change.kind == ERASE_KIND:
                self._unsaved_erasure |= self._forget_logged(payload["digest"])
            else:
                self.recommender.set_stock(payload["store_id"], payload["stock"])
        except (RecsysError, KeyError, TypeError) as exc:
            logger.error("skipped logged %s change %d: %s", change.kind, change.change_seq, exc)
        self._moved_to(change)

    def _apply_rows(
        self, records: EventColumns, last_seq: int, pending: PendingEvents | None
    ) -> None:
        try:
            if pending is not None:
                self.recommender.commit_update(pending)
            else:
                self.recommender.update(records)
        except RecsysError:
            self._catch_up()  # row by row from the log, skipping what cannot be applied
            return
        self.applied_seq = last_seq
        self.recommender.event_seq = last_seq

    def _catch_up(self, budget: int | None = None) -> int:
        """Apply every logged event and change the model has not seen, in log order (a
        change after the events before it); caller holds the lock. Returns events applied.

        With ``budget``, stop after reading about that many events (a read's share of a big
        batch another worker logged); ``_behind`` then says the rest waits for the next
        call, still in log order.
        """
        self._behind = False
        self._budget = budget
        applied = 0
        for change in self.log.changes(self.applied_change):
            if change.change_seq <= self.applied_change:  # a reload caught up past it
                continue
            applied += self._events_until(change.after_event)
            if self._behind:
                return applied  # out of budget before this change's turn
            self._apply_change(change)
        return applied + self._events_until(None)

    def _events_until(self, last: int | None) -> int:
        """Apply the logged events after ``applied_seq`` up to ``last`` (all: ``None``),
        within what is left of the catch-up's budget."""
        applied = 0
        while True:
            limit = _REPLAY_CHUNK if self._budget is None else min(_REPLAY_CHUNK, self._budget)
            if limit <= 0:
                self._behind = True
                return applied
            frame = self.log.since(after_seq=self.applied_seq, until_seq=last, limit=limit)
            if frame.empty:
                return applied
            if self._budget is not None:
                self._budget -= len(frame)
            applied += self._apply(frame)
            self.applied_seq = int(frame[SEQ].iloc[-1])
            self.recommender.event_seq = self.applied_seq

    def _apply(self, chunk: pd.DataFrame) -> int:
        events = chunk.drop(columns=[SEQ])
        try:
            return self.recommender.update(events)
        except RecsysError as exc:
            # Logged events were validated before they were appended, so this means the
            # model changed (e.g. a retrained model without a SKU). They stay in the log for
            # the next training run; apply the good ones and say which were skipped.
            logger.error(
                "could not apply logged events %s: %s; retrying one by one", _seq_range(chunk), exc
            )
        applied = 0
        for i in range(len(chunk)):
            try:
                applied += self.recommender.update(events.iloc[i : i + 1])
            except RecsysError as exc:
                logger.error("skipped logged event seq=%d: %s", int(chunk[SEQ].iloc[i]), exc)
        return applied

    def shown(
        self,
        member_id: str | None,
        store_id: str | None,
        shelf: Sequence[Recommendation],
        variant: str | None = None,
    ) -> str:
        """Log a shelf answer as shown (off the request path); returns its ``shelf_id``."""
        shelf_id = new_shelf_id()
        self.impressions.record(
            Impression(
                shelf_id,
                None if member_id is None else self.member(member_id),
                store_id,
                tuple(r.item_id for r in shelf),
                self.model_version,
                variant or self.variant,
                now_text(),
            )
        )
        return shelf_id

    def close(self) -> None:
        """Write the queued impressions, then close the event log (everything acknowledged
        is already on disk)."""
        if hasattr(self, "impressions"):
            self._stop.set()
            self._follower.join(timeout=10)
            self.impressions.close()
        self.log.close()


def _bounded(rows: Sized, limit: int, what: str, empty: str) -> None:
    """Refuse an empty request (422, ``empty``) and one over ``limit`` rows (413)."""
    if not rows:
        raise InvalidInputError(empty)
    if len(rows) > limit:
        raise PayloadTooLargeError(
            f"{len(rows)} {what} in one call; at most {limit}: split the batch"
        )


def _seq_range(chunk: pd.DataFrame) -> str:
    return f"seq {int(chunk[SEQ].iloc[0])}..{int(chunk[SEQ].iloc[-1])}"
