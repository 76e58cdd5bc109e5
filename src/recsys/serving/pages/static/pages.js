// What both pages share: the address, the API client, the shelf tiles, dwell time.
// Plain ES modules, same origin, no build step, nothing from the network.

/** Shortest look at a tile that counts as a view (seconds). */
export const MIN_DWELL_SECONDS = 1.0;
const CALL_TIMEOUT_MS = 10000;

/** The page's parameters: store and member from the query, the API key from the fragment
 *  (``#key=...``: a fragment is never sent to the server). */
export function readAddress() {
  const query = new URLSearchParams(window.location.search);
  const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  return {
    storeId: query.get("store_id") || "",
    memberId: query.get("member_id") || "",
    key: fragment.get("key") || "",
  };
}

/** What the server found wrong with the page's address ("" when nothing). */
export function addressProblem() {
  return document.body.dataset.problem || "";
}

/** An answer of the service that is not 2xx, with its ``{"error", "detail"}``. */
export class ApiError extends Error {
  constructor(route, status, error, detail) {
    super(`${route} failed: ${status} ${error}: ${describe(detail)}${hint(status)}`);
    this.name = "ApiError";
    this.status = status;
    this.error = error;
    this.detail = detail;
  }
}

function describe(detail) {
  if (Array.isArray(detail)) {
    // validation errors: field paths and messages (the service never echoes values)
    return detail.map((e) => `${(e.loc || []).join(".") || "body"}: ${e.msg}`).join("; ");
  }
  return String(detail ?? "");
}

function hint(status) {
  if (status === 401) {
    return " (open the page with #key=<API key> at the end of its address)";
  }
  return "";
}

/** POSTs JSON to the service's routes, relative to the page (``/screen`` -> ``/recommend``). */
export class Api {
  constructor(key) {
    this.key = key;
  }

  async post(route, body) {
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (this.key) {
      headers.Authorization = `Bearer ${this.key}`;
    }
    const abort = new AbortController();
    const timer = window.setTimeout(() => abort.abort(), CALL_TIMEOUT_MS);
    let response;
    try {
      response = await fetch(route.replace(/^\//, ""), {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        referrerPolicy: "no-referrer",
        cache: "no-store",
        signal: abort.signal,
      });
    } catch (err) {
      const why = err.name === "AbortError" ? "no answer in 10 s" : err.message;
      throw new ApiError(`POST ${route}`, 0, "Unreachable", `could not reach the service (${why})`);
    } finally {
      window.clearTimeout(timer);
    }
    const text = await response.text();
    let answer = null;
    try {
      answer = text ? JSON.parse(text) : null;
    } catch {
      answer = null;
    }
    if (!response.ok) {
      const error = (answer && answer.error) || response.statusText || "Error";
      const detail = answer && answer.detail !== undefined ? answer.detail : text.slice(0, 200);
      throw new ApiError(`POST ${route}`, response.status, error, detail);
    }
    return answer;
  }
}

/** ``el`` shows ``text`` (hidden when empty). */
export function show(el, text) {
  el.textContent = text;
  el.hidden = !text;
}

/** The page is usable: its first content is rendered (``data-ready``, ``data-ready-ms``:
 *  milliseconds since navigation started). */
export function markReady(state = "ready") {
  document.body.dataset.ready = state;
  document.body.dataset.readyMs = String(Math.round(performance.now()));
}

/** A short text for a fallback shelf, or "" for a personal one. */
export function fallbackText(fallback) {
  const texts = {
    "popular-in-store": "Popular in this store: we don't know this member's taste yet.",
    popular: "Popular across the chain: we don't know this member's taste yet.",
    "popular-in-segment": "Popular with members like this one (from their profile).",
  };
  return fallback ? texts[fallback] || `Not personal (${fallback}).` : "";
}

function badge(text, kind = "") {
  const span = document.createElement("span");
  span.className = kind ? `badge ${kind}` : "badge";
  span.textContent = text;
  return span;
}

function hue(text) {
  let h = 0;
  for (const ch of text) {
    h = (h * 31 + ch.codePointAt(0)) % 360;
  }
  return h;
}

/**
 * Render ``items`` (``[{item_id, score, reason, name?, category?, price?}]``) into ``list``, marking the tiles that
 * were not on ``previous`` (item ids) as changed ("new for you") and those that rose.
 * Returns the number of changed tiles. ``onTile(tile)`` is called for every tile element
 * (e.g. to track dwell).
 */
export function renderShelf(list, items, previous, { onTile = null, scores = false } = {}) {
  const fresh = previous !== null && previous !== undefined;
  const before = new Map((previous || []).map((id, rank) => [id, rank]));
  let changed = 0;
  const tiles = items.map((item, rank) => {
    const tile = document.createElement("li");
    tile.className = "tile";
    tile.tabIndex = 0;
    tile.dataset.itemId = item.item_id;
    tile.dataset.rank = String(rank + 1);
    tile.style.setProperty("--hue", String(hue(item.item_id)));
    const swatch = document.createElement("div");
    swatch.className = "swatch";
    swatch.setAttribute("aria-hidden", "true");
    const sku = document.createElement("p");
    sku.className = "sku";
    sku.textContent = item.name || item.item_id;
    const facts = document.createElement("p");
    facts.className = "facts";
    const price = typeof item.price === "number" ? `${item.price.toFixed(2)}` : "";
    facts.textContent = [item.category, price, item.name ? item.item_id : ""]
      .filter(Boolean)
      .join(" · ");
    const reason = document.createElement("p");
    reason.className = "reason";
    reason.textContent = item.reason;
    tile.append(swatch, sku, facts, reason);
    if (scores) {
      const score = document.createElement("p");
      score.className = "score";
      score.textContent = `score ${Number(item.score).toFixed(2)}`;
      tile.append(score);
    }
    if (fresh && !before.has(item.item_id)) {
      changed += 1;
      tile.dataset.changed = "true";
      tile.classList.add("changed");
      tile.append(badge("new for you"));
    } else if (fresh && before.get(item.item_id) > rank) {
      tile.dataset.moved = "up";
      tile.append(badge("↑ up", "up"));
    }
    if (onTile) {
      onTile(tile);
    }
    return tile;
  });
  list.replaceChildren(...tiles);
  return changed;
}

/**
 * Measure how long a tile is looked at: hovered (mouse, pen), touched, or focused
 * (keyboard); a look lasts while any of them does. When it ends and lasted
 * ``MIN_DWELL_SECONDS`` or more, call ``onDwell(itemId, seconds)``.
 */
export function trackDwell(tile, onDwell) {
  let since = null;
  const by = new Set(); // what holds the look: "pointer", "focus"
  const begin = (how) => () => {
    by.add(how);
    if (since === null) {
      since = performance.now();
      tile.classList.add("dwelling");
    }
  };
  const end = (how) => () => {
    by.delete(how);
    if (since === null || by.size) {
      return;
    }
    const seconds = (performance.now() - since) / 1000;
    since = null;
    tile.classList.remove("dwelling");
    if (seconds >= MIN_DWELL_SECONDS) {
      onDwell(tile.dataset.itemId, seconds);
    }
  };
  tile.addEventListener("pointerenter", begin("pointer"));
  tile.addEventListener("pointerleave", end("pointer"));
  tile.addEventListener("pointercancel", end("pointer"));
  tile.addEventListener("focus", begin("focus"));
  tile.addEventListener("blur", end("focus"));
}
