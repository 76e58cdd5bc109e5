// The shop assistant's view of a member: tags, today's events, the shelf, the coupon.
import { Api, addressProblem, fallbackText, markReady, readAddress, renderShelf, show } from "./pages.js";

const SHELF_SIZE = 6;

const el = (id) => document.getElementById(id);
const address = readAddress();
const api = new Api(address.key);
let shown = null;

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function clock(timestamp) {
  // the service's timestamps are UTC; a naive ISO text is read as UTC, shown in local time
  const naive = typeof timestamp === "string" && /T[\d:.]+$/.test(timestamp);
  const when = new Date(typeof timestamp === "number" ? timestamp * 1000 : naive ? `${timestamp}Z` : timestamp);
  if (Number.isNaN(when.getTime())) {
    return String(timestamp ?? "");
  }
  return when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function amount(event) {
  if (event.value === null || event.value === undefined) {
    return "";
  }
  return event.kind === "view" ? `${Number(event.value).toFixed(1)} s` : String(event.value);
}

function renderMember(member) {
  const known = member.known ? "Known member: shelf from their history." : "New member: no history yet, shelf from their tags.";
  show(el("known"), known);
  const tags = Object.entries(member.profile || {}).map(([name, value]) => {
    const li = document.createElement("li");
    li.className = "tag";
    const key = document.createElement("span");
    key.className = "tag-name";
    key.textContent = name.replace(/_/g, " ");
    li.append(key, document.createTextNode(` ${value}`));
    return li;
  });
  if (!tags.length) {
    const li = document.createElement("li");
    li.className = "tag empty";
    li.textContent = "no tags";
    tags.push(li);
  }
  el("tags").replaceChildren(...tags);

  const rows = (member.today || []).map((event) => {
    const tr = document.createElement("tr");
    tr.dataset.kind = event.kind;
    tr.append(
      cell(clock(event.timestamp)),
      cell(event.kind),
      cell(event.item_id),
      cell(amount(event)),
      cell(event.store_id || ""),
    );
    return tr;
  });
  el("today").tBodies[0].replaceChildren(...rows);
  el("today").hidden = !rows.length;
  el("today-empty").hidden = rows.length > 0;

  const coupon = el("coupon");
  if (member.coupon) {
    const sku = document.createElement("p");
    sku.className = "coupon-sku";
    sku.textContent = member.coupon.name || member.coupon.item_id;
    const reason = document.createElement("p");
    reason.className = "reason";
    reason.textContent = member.coupon.reason;
    coupon.replaceChildren(sku, reason);
    coupon.dataset.itemId = member.coupon.item_id;
  } else {
    const none = document.createElement("p");
    none.className = "empty";
    none.textContent = "No coupon to offer this member today.";
    coupon.replaceChildren(none);
    delete coupon.dataset.itemId;
  }
}

function renderShelfAnswer(answer) {
  renderShelf(el("shelf"), answer.items, shown, { scores: true });
  shown = answer.items.map((item) => item.item_id);
  show(el("fallback"), fallbackText(answer.fallback));
  return answer.model_version;
}

async function load() {
  el("refresh").disabled = true;
  const [member, shelf] = await Promise.allSettled([
    api.post("/member", { member_id: address.memberId, store_id: address.storeId }),
    api.post("/recommend", { member_id: address.memberId, store_id: address.storeId, k: SHELF_SIZE }),
  ]);
  const errors = [];
  if (member.status === "fulfilled") {
    renderMember(member.value);
  } else {
    errors.push(member.reason.message);
  }
  let version = "";
  if (shelf.status === "fulfilled") {
    version = renderShelfAnswer(shelf.value);
  } else {
    errors.push(shelf.reason.message);
  }
  show(el("error"), errors.join("\n"));
  el("foot").textContent = version ? `model ${version}` : "";
  el("refresh").disabled = false;
  document.body.dataset.loads = String(Number(document.body.dataset.loads || 0) + 1);
  return errors.length ? "error" : "ready";
}

async function main() {
  const problem = addressProblem();
  if (problem) {
    show(el("problem"), `This view cannot show a member: ${problem}.`);
    markReady("problem");
    return;
  }
  el("context").textContent = `Store ${address.storeId} · member ${address.memberId}`;
  el("refresh").addEventListener("click", () => {
    load();
  });
  markReady(await load());
}

main();
