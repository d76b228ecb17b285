// packgen serve: keep this page current. The server says when a watched file changed (an event
// stream); the page then fetches its content again and swaps it in, keeping the filters, the scroll
// position and, until the new ones arrive, the old page images.
"use strict";
(() => {
  const status = document.getElementById("status");
  let live = document.getElementById("live");
  let version = live.dataset.version;
  let busy = false;
  let again = false;

  const norm = (text) => text.normalize("NFKC").toLowerCase().trim();

  // The plan table: search and filters, kept in the address so Back and a reload keep them.
  function filterRows() {
    const search = document.getElementById("search");
    if (!search) return;
    const branch = document.getElementById("branch").value;
    const plan = document.getElementById("plan").value;
    const words = norm(search.value).split(/\s+/).filter(Boolean);
    const rows = live.querySelectorAll("table.members tbody tr");
    let shown = 0;
    for (const row of rows) {
      const ok = words.every((w) => row.dataset.search.includes(w)) &&
        (!branch || row.dataset.branch === branch) && (!plan || row.dataset.plan === plan);
      row.hidden = !ok;
      if (ok) shown += 1;
    }
    document.getElementById("shown").textContent = `${shown} / ${rows.length}`;
    document.getElementById("none").hidden = shown > 0;
    const params = new URLSearchParams();
    if (search.value) params.set("q", search.value);
    if (branch) params.set("branch", branch);
    if (plan) params.set("plan", plan);
    const query = params.toString();
    history.replaceState(null, "", location.pathname + (query ? `?${query}` : ""));
  }

  function setUpFilters(values) {
    const form = live.querySelector("form.filters");
    if (!form) return;
    for (const [name, value] of Object.entries(values)) {
      const field = form.elements.namedItem(name);
      if (field && [...(field.options || [{ value }])].some((o) => o.value === value)) field.value = value;
    }
    form.addEventListener("input", filterRows);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const visible = [...live.querySelectorAll("table.members tbody tr")].filter((row) => !row.hidden);
      if (visible.length === 1) visible[0].querySelector("a").click();
    });
    filterRows();
  }

  function filterValues() {
    const form = live.querySelector("form.filters");
    if (!form) return Object.fromEntries(new URLSearchParams(location.search));
    return { q: form.elements.q.value, branch: form.elements.branch.value, plan: form.elements.plan.value };
  }

  // The booklet's text, laid over each page image, stretched to the width of the line it covers.
  function fitText(root) {
    const spans = [...root.querySelectorAll(".page .text span")];
    const widths = spans.map((span) => [span, span.getBoundingClientRect().width, span.parentElement.clientWidth]);
    for (const [span, width, pageWidth] of widths) {
      const wanted = parseFloat(span.dataset.width) * pageWidth;
      if (width > 0 && wanted > 0) span.style.transform = `scaleX(${wanted / width})`;
    }
  }

  function swap(html) {
    const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
    if (!fresh) return;
    const filters = filterValues();
    const focused = document.activeElement;
    const caret = focused && focused.id === "search" ? [focused.selectionStart, focused.selectionEnd] : null;
    const shown = new Map([...live.querySelectorAll(".page img")]
      .filter((img) => img.complete && img.naturalWidth > 0)
      .map((img) => [img.closest(".page").dataset.page, img.currentSrc]));
    for (const img of fresh.querySelectorAll(".page img")) {
      const old = shown.get(img.closest(".page").dataset.page);
      if (old) img.style.backgroundImage = `url("${old}")`;  // the old page until the new one loads
    }
    const adopted = document.adoptNode(fresh);
    live.replaceWith(adopted);
    live = adopted;
    version = live.dataset.version;
    setUpFilters(filters);
    const refocus = focused && focused.id && document.getElementById(focused.id);
    if (refocus && refocus !== document.body) {
      refocus.focus();
      if (caret) refocus.setSelectionRange(...caret);
    }
    fitText(live);
  }

  async function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        const url = new URL(location.href);
        url.searchParams.set("fragment", "1");
        const response = await fetch(url, { cache: "no-store" });
        swap(await response.text());
      } while (again);
      status.textContent = "";
    } catch (error) {
      status.textContent = "无法连接 packgen serve · cannot reach packgen serve";
    } finally {
      busy = false;
    }
  }

  setUpFilters(Object.fromEntries(new URLSearchParams(location.search)));
  fitText(live);
  const member = live.dataset.member;
  const events = new EventSource("/events" + (member ? `?member=${encodeURIComponent(member)}` : ""));
  events.addEventListener("change", (event) => {
    if (JSON.parse(event.data).version !== version) refresh();
  });
  events.addEventListener("open", () => { status.textContent = ""; });
  events.addEventListener("error", () => { status.textContent = "连接中断，正在重连… reconnecting"; });
})();
