"""The HTTP service (BentoML >= 1.2): validate, call the Recommender facade, shape JSON.

Only this subpackage imports ``bentoml`` (install ``recsys[serve]``). Run the service with
``recsys serve MODEL_DIR`` or ``RECSYS_MODEL_DIR=MODEL_DIR bentoml serve
recsys.serving.service:RecsysService``; ``serving/service.py`` at the repository root
re-exports the class for ``bentoml build``.

Modules: :mod:`~recsys.serving.settings` (environment), :mod:`~recsys.serving.runtime`
(model + event log, no HTTP), :mod:`~recsys.serving.schemas` and
:mod:`~recsys.serving.analytics_schemas` (pydantic request/response models),
:mod:`~recsys.serving.analytics` (the analytics routes' work),
:mod:`~recsys.serving.experiments` (variants), :mod:`~recsys.serving.impressions` (shown
shelves), :mod:`~recsys.serving.gatekeeper` (API key, body size, error JSON),
:mod:`~recsys.serving.service` (the BentoML service), :mod:`~recsys.serving.local` (a
``bentoml serve`` subprocess for tests, benchmarks and the demo).

Routes
------
=====================  =====================================================================
``POST /recommend``        one member's shelf (member id and/or profile tags), in a store
``POST /recommend_batch``  shelves of up to 1,000 members at once
``POST /similar``          SKUs like a SKU (optionally stocked in a store)
``POST /audience``         members most likely to want a SKU (coupons: caps, budgets, issue)
``POST /member``           a member's tags, today's events and a coupon to offer (assistant)
``POST /events``           member events and ``profiles``: logged durably, then applied
``POST /catalog``          SKUs added or changed (attributes, stores): logged, then applied
``POST /stock``            a store's stock (0: never shown there): logged, then applied
``POST /forget``           erase a member: model, event log, saved model, every worker
``POST /optout``           a member who withdrew consent: in no audience again, durably
``POST /admin/reload``     swap in a saved model (no failed request; every worker follows)
``POST /analytics/*``      ``attribution``, ``experiments``, ``retention`` from the event log
``GET /screen /assistant``  the smart screen and shop assistant pages (:mod:`.pages`)
``GET /healthz /livez /readyz /metrics``  BentoML's own; ``GET /`` (API page), ``/docs.json``
=====================  =====================================================================

Errors
------
Every :class:`~recsys.exceptions.RecsysError` becomes ``{"error": <class name>, "detail":
<message>}`` with status ``exc.http_status`` (``UnknownIdError`` 404, ``InvalidInputError``
422, ``PayloadTooLargeError`` 413, ``NotFittedError`` 503). A body that does not match the
request model (wrong type, missing or unknown field, ``k`` out of range) gets 422
``{"error": "ValidationError", "detail": [{"type", "loc", "msg"}, ...]}``; a body that is not
JSON, or JSON that is not an object, gets 400 ``MalformedRequest`` in the same shape; a
``Content-Type`` other than JSON (multipart, text) gets 400 ``UnsupportedMediaType``
(:mod:`recsys.serving.gatekeeper` rewrites BentoML's validation answers and
:mod:`recsys.serving.redaction` keeps values out of them). A log that cannot be written
(disk full, read-only, deleted or replaced file) gets 503 ``EventLogError`` naming the
cause, and ``/readyz`` answers 503 until a write succeeds.
More than ``RECSYS_MAX_EVENTS`` (10,000) events or ``RECSYS_MAX_BATCH`` (1,000) members, a
batch of more than ``RECSYS_MAX_BATCH_SLOTS`` (100,000) members x k (the answer's size), or
a body over ``RECSYS_MAX_BODY_BYTES`` (8 MiB): 413 naming the limit. Without a valid API
key (when one is configured): 401. No answer and no log line repeats a member id or a value sent.

Events: ordering and durability
-------------------------------
``POST /events`` runs, under one lock: (1) ``Recommender.check_events`` - an unknown SKU or
store, a bad kind or value is rejected with a 4xx and *nothing* is written; (2)
``EventLog.append`` - one SQLite transaction, fsync'ed before it returns; (3) every log row
the model has not folded in yet (``seq > applied``) goes to ``Recommender.update``, and
``recommender.event_seq`` moves to the last applied ``seq``; (4) the answer. So an
acknowledged event is always durable (append precedes the answer), a rejected one never
touches the log or the model, and a retried ``event_id`` is a duplicate in the log and is
not applied twice (only rows new to the log are applied). Validating *before* appending
matters: appending first would leave a rejected event in the log to fail again at every
replay; updating first would let the model reflect an event that was never made durable.
On start-up the same step (3) replays the log rows after ``recommender.event_seq``, so
every acknowledged event is back in the model after a crash (``kill -9``).

``POST /catalog`` and ``POST /stock`` follow the same order: ``Recommender.prepare_items``
/ ``prepare_stock`` check the change and build the state it leads to (a 4xx changes and
logs nothing); ``EventLog.append_change`` writes it, with the last event ``seq`` before it;
``Recommender.commit`` puts it in effect. A replay applies each logged change after the
events logged before it, so an event on a SKU added over HTTP always finds the SKU. The
``profiles`` of a ``POST /events`` are checked with its events, then logged as a change just
before them and set (``Recommender.set_profiles``) before the events are appended.

Security and privacy
--------------------
``RECSYS_API_KEY``: when set, every route except the liveness/readiness probes (``/healthz``,
``/livez``, ``/readyz``: orchestrators probe without credentials) needs ``Authorization:
Bearer <key>``, compared in constant time; ``/metrics`` and ``/docs`` need it too (point
Prometheus' ``authorization`` setting at the key). ``RECSYS_PSEUDONYM_KEY``: member ids in
requests are replaced by their keyed pseudonym (:class:`~recsys.privacy.Pseudonymizer`)
before lookup and before events are logged, so raw card numbers never reach the log or the
model; ``/audience`` then answers pseudonyms. The model must have been trained with the
same key (``recsys train --pseudonymize``); a mismatch either way stops the service at
start-up. ``event_id`` s and the member ids keying ``profiles`` are pseudonymized too. A
worker handed a non-loopback socket without ``RECSYS_API_KEY`` refuses to start unless
``RECSYS_ALLOW_OPEN=1`` (:mod:`recsys.serving.exposure`); a worker that cannot start stops
the server instead of being restarted forever. ``POST /forget`` (see the README's privacy
section) erases a member, durably, from everything the service keeps.

Workers
-------
``RECSYS_WORKERS`` processes (default: 2, or 1 on a one-core machine) each hold a copy of
the model and share the event log. An event is applied at once by the worker that logged
it (a catalog or stock change too); every other worker notices the commit on its next
read request (SQLite's ``PRAGMA data_version``, a shared-memory check of microseconds) and
folds the new rows in before answering, so any worker's next shelf reflects an
acknowledged event. ``/recommend`` and ``/similar`` run on the event loop (a shelf costs
less than a hop to a thread);
``/recommend_batch``, ``/audience``, ``/events``, ``/catalog`` and ``/stock`` (fsync) run on
``RECSYS_THREADS`` request threads per worker (default 4).

Impressions and experiments
---------------------------
Every shelf answer gets a ``shelf_id`` and a ``variant``; the shown shelf is queued and
written to the log's ``impressions`` table every 50 ms (:mod:`recsys.serving.impressions`).
``RECSYS_EXPERIMENT`` splits members between variants (:mod:`recsys.serving.experiments`).

Reload
------
``POST /admin/reload`` (and SIGHUP to ``recsys serve``) loads the saved model while the old
one keeps answering, then logs a ``reload`` change naming the instant every worker swaps at
(twice the loading time from now, 0.5 to 60 s). Every other worker sees it on its next read,
loads the model on its follower thread (reads meanwhile answer from the old one), and at that
instant each worker replays the log rows after the new model's cursors into it and swaps in
one assignment: answers change ``model_version`` at one instant on every worker. A model
retrained with ``recsys train --events <log>`` holds the log's events and cursor, so the
swap counts no event twice. Reload changes are not replayed at start-up: the configured
``RECSYS_MODEL_DIR`` is served.

Big batches
-----------
``POST /events`` bodies are parsed as plain objects on the event loop and checked against the
event schema once, on the request thread; the events are prepared once and put in effect once
logged. Another worker folds in at most 64 events another worker logged on a read; a bigger
backlog (a 10,000-event batch) goes to its follower thread, so shelves keep answering from the
model as it is meanwhile.

Other settings
--------------
``RECSYS_MODEL_DIR`` (saved model) or ``RECSYS_BENTO_MODEL`` (a tag in the BentoML model
store, see :func:`~recsys.serving.service.save_to_model_store`); ``RECSYS_EVENT_LOG``
(default ``<model dir>.events.sqlite``, beside the model directory, never inside it);
``RECSYS_EVENT_SYNC`` (``FULL`` default: fsync per append, an acknowledged event survives
power loss; ``NORMAL`` survives a crash of the process but not of the machine);
``RECSYS_ACCESS_LOG`` (BentoML's per-request log line, default on); ``RECSYS_TRACING``
(default off: BentoML's OpenTelemetry middleware skips every path, which saves about a
millisecond of CPU per request; on, it traces as BentoML's configuration says).
"""
