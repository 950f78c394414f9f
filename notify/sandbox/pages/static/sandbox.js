// Notify provider sandbox: live list, search as you type, clear all, message tabs.
// Served as a file (no inline script), so the pages run under a strict CSP.
"use strict";

const POLL_MS = 2000;
const LIMIT = 200;

function setupList() {
  const rows = document.getElementById("rows");
  if (!rows) return;
  const total = document.getElementById("total");
  const empty = document.getElementById("empty");
  const live = document.getElementById("live");
  const form = document.querySelector("form.search");
  let feedUrl = rows.dataset.feed;
  let newest = Number(rows.dataset.newest || 0);
  let epoch = Number(rows.dataset.epoch || 0);
  let busy = false;

  function render(body) {
    if (body.reset) rows.replaceChildren();
    const template = document.createElement("template");
    // Rows are rendered (and escaped) by the server, the same code as the first page load.
    template.innerHTML = body.rows.join("");
    const fresh = [...template.content.children];
    if (!body.reset) fresh.forEach((row) => row.classList.add("new"));
    rows.prepend(...fresh);
    while (rows.children.length > LIMIT) rows.lastElementChild.remove();
    newest = body.newest;
    epoch = body.epoch;
    const shown = rows.children.length;
    let text = `${body.total} message${body.total === 1 ? "" : "s"}`;
    if (body.total > shown) text += `, newest ${shown} shown`;
    total.textContent = text;
    empty.hidden = shown > 0;
    for (const [provider, count] of Object.entries(body.counts)) {
      const badge = document.querySelector(`.count[data-provider="${provider}"]`);
      if (badge) badge.textContent = String(count);
    }
  }

  async function poll(force) {
    if (busy || (document.hidden && !force)) return;
    busy = true;
    try {
      const url = new URL(feedUrl, location.href);
      url.searchParams.set("after", force ? "0" : String(newest));
      url.searchParams.set("epoch", force ? "-1" : String(epoch));
      const response = await fetch(url, { cache: "no-store" });
      if (response.ok) {
        render(await response.json());
        live.hidden = false;
      }
    } catch (error) {
      live.hidden = true; // the sandbox stopped; keep what is shown
    } finally {
      busy = false;
    }
  }

  // Search as you type: the list is replaced in place and the address bar keeps the filters.
  let typing = null;
  function refilter() {
    const params = new URLSearchParams(new FormData(form));
    for (const [name, value] of [...params]) if (!value) params.delete(name);
    const query = params.toString();
    history.replaceState(null, "", query ? `/?${query}` : "/");
    feedUrl = query ? `/feed?${query}` : "/feed";
    poll(true);
  }
  form.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(refilter, 250);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(typing);
    refilter();
  });

  document.querySelector("form.clear").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!confirm("Delete every message the sandbox has received?")) return;
    await fetch("/clear", { method: "POST", redirect: "manual" });
    poll(true);
  });

  // A click anywhere on a row opens the message (the subject is the real link).
  rows.addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-href]");
    if (row && !event.target.closest("a") && !window.getSelection().toString()) {
      location.href = row.dataset.href;
    }
  });

  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", () => poll(false));
  poll(false);
}

function setupTabs() {
  for (const box of document.querySelectorAll(".tabbed")) {
    const buttons = [...box.querySelectorAll("[role=tab]")];
    function show(slug) {
      for (const button of buttons) {
        const selected = button.dataset.tab === slug;
        button.setAttribute("aria-selected", String(selected));
        document.getElementById(`panel-${button.dataset.tab}`).hidden = !selected;
      }
      if (location.hash !== `#${slug}`) history.replaceState(null, "", `#${slug}`);
    }
    for (const button of buttons) button.addEventListener("click", () => show(button.dataset.tab));
    const wanted = location.hash.slice(1);
    show(buttons.some((b) => b.dataset.tab === wanted) ? wanted : buttons[0].dataset.tab);
    box.classList.add("ready");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupList();
  setupTabs();
});
