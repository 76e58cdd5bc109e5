// The smart screen: the member's shelf for the store; a long look at a tile is a view
// event, and the next shelf shows what changed.
import {
  Api,
  addressProblem,
  fallbackText,
  markReady,
  readAddress,
  renderShelf,
  show,
  trackDwell,
} from "./pages.js";

const SHELF_SIZE = 8;

const el = (id) => document.getElementById(id);
const body = document.body;
const address = readAddress();
const api = new Api(address.key);
let shown = null; // item ids on the screen
let versions = 0;
let views = 0;
let queue = Promise.resolve(); // one view at a time, in the order they ended

async function loadShelf() {
  const answer = await api.post("/recommend", {
    member_id: address.memberId,
    store_id: address.storeId,
    k: SHELF_SIZE,
  });
  const changed = renderShelf(el("shelf"), answer.items, shown, {
    onTile: (tile) => trackDwell(tile, onDwell),
  });
  shown = answer.items.map((item) => item.item_id);
  versions += 1;
  body.dataset.shelfVersion = String(versions);
  body.dataset.changed = String(changed);
  show(el("fallback"), fallbackText(answer.fallback));
  el("hint").hidden = !answer.items.length;
  if (!answer.items.length) {
    show(el("status"), "Nothing to show in this store right now.");
  }
  el("foot").textContent = `model ${answer.model_version}`;
  return changed;
}

async function postView(itemId, seconds) {
  const dwell = Math.round(seconds * 10) / 10;
  const answer = await api.post("/events", {
    events: [
      {
        user_id: address.memberId,
        item_id: itemId,
        kind: "view",
        value: dwell,
        store_id: address.storeId,
      },
    ],
  });
  views += answer.accepted;
  body.dataset.views = String(views);
  show(el("status"), `Noted: ${itemId} for ${dwell.toFixed(1)} s. Updating your shelf…`);
  const changed = await loadShelf();
  const what = changed
    ? `${changed} new pick${changed === 1 ? "" : "s"} for you`
    : "your picks stay the same";
  show(el("status"), `Noted: ${itemId} for ${dwell.toFixed(1)} s — ${what}.`);
}

function onDwell(itemId, seconds) {
  queue = queue
    .then(() => postView(itemId, seconds))
    .then(() => show(el("error"), ""))
    .catch((err) => show(el("error"), err.message));
}

async function main() {
  const problem = addressProblem();
  if (problem) {
    show(el("problem"), `This screen cannot show a shelf: ${problem}.`);
    markReady("problem");
    return;
  }
  el("context").textContent = `Store ${address.storeId}`;
  try {
    await loadShelf();
    markReady();
  } catch (err) {
    show(el("error"), err.message);
    markReady("error");
  }
}

main();
