// neighborly studio: re-render as you type, check placeholders, save.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("studio-data").textContent);
  const status = document.getElementById("status");
  const say = (t) => { if (status) status.textContent = t; };
  const post = (url, body) => fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-studio-token": data.token },
    body: JSON.stringify(body),
  });

  // A campaign letter has a language and nothing else to choose.
  const campaign = document.querySelector("select[name=campaign]");
  const reportOnly = document.querySelector(".report-only");
  if (campaign && reportOnly) {
    const sync = () => {
      const letter = campaign.value !== "";
      reportOnly.querySelectorAll("select").forEach((s) => {
        if (s.name !== "lang") s.closest("label").hidden = letter;
      });
    };
    campaign.addEventListener("change", sync);
    sync();
  }

  // Tip rules page.
  document.querySelectorAll("button[data-save-tip]").forEach((b) => {
    b.addEventListener("click", async () => {
      const id = b.dataset.saveTip;
      const area = document.querySelector(`textarea[data-tip="${CSS.escape(id)}"]`);
      const problem = document.querySelector(`[data-tip-problem="${CSS.escape(id)}"]`);
      const r = await post("/api/tip", { id, conditions: area.value, base: data.tips_base });
      const text = await r.text();
      if (r.ok) {
        data.tips_base = text;
        problem.textContent = "";
        say(`Saved the conditions of ${id}. Reload to see which households it picks now.`);
      } else {
        problem.textContent = text;
        say(`Not saved: ${id}`);
      }
    });
  });

  const fields = Array.from(document.querySelectorAll("textarea[data-key]"));
  if (!fields.length) return;
  const saveButton = document.getElementById("save");
  const discardButton = document.getElementById("discard");
  const known = new Set(data.placeholders || []);
  let problemsShown = false;

  const edits = () => fields
    .filter((f) => f.value !== f.dataset.original)
    .map((f) => ({ lang: f.dataset.lang, key: f.dataset.key, value: f.value }));

  // What can be told without the server: unknown placeholders, empty text.
  function localProblems() {
    const out = [];
    for (const f of fields) {
      if (f.value === f.dataset.original) continue;
      for (const m of f.value.matchAll(/\{([A-Za-z0-9_]+)\}/g)) {
        if (!known.has(m[1])) out.push({ lang: f.dataset.lang, key: f.dataset.key, message: `unknown placeholder {${m[1]}}` });
      }
      if (!f.value.trim()) out.push({ lang: f.dataset.lang, key: f.dataset.key, message: "this sentence is empty" });
    }
    return out;
  }

  function showProblems(problems) {
    document.querySelectorAll(".problem[data-for]").forEach((p) => { p.textContent = ""; });
    fields.forEach((f) => f.removeAttribute("aria-invalid"));
    const general = [];
    for (const p of problems) {
      const slot = p.key && p.lang && document.querySelector(`[data-for="${CSS.escape(p.lang + ":" + p.key)}"]`);
      if (slot) {
        slot.textContent = (slot.textContent ? slot.textContent + " " : "") + p.message;
        const f = fields.find((f) => f.dataset.lang === p.lang && f.dataset.key === p.key);
        if (f) f.setAttribute("aria-invalid", "true");
      } else {
        general.push(p.message);
      }
    }
    document.getElementById("general").textContent = general.join("\n");
    problemsShown = problems.length > 0;
    updateButtons();
  }

  function updateButtons() {
    const n = edits().length;
    saveButton.disabled = n === 0 || problemsShown;
    discardButton.disabled = n === 0;
  }

  function showPages(reply) {
    const pages = document.getElementById("pages");
    pages.replaceChildren();
    for (let n = 1; n <= reply.pages; n++) {
      const fig = document.createElement("figure");
      const img = document.createElement("img");
      img.src = `/page/${reply.id}/${n}`;
      img.alt = `Page ${n} as printed; its text follows.`;
      img.width = 612;
      const cap = document.createElement("figcaption");
      const det = document.createElement("details");
      const sum = document.createElement("summary");
      sum.textContent = `Text of page ${n}`;
      const pre = document.createElement("pre");
      pre.className = "page-text";
      pre.textContent = reply.text[n - 1] || "";
      det.append(sum, pre);
      cap.append(det);
      fig.append(img, cap);
      pages.append(fig);
    }
  }

  let timer = null;
  let seq = 0;
  async function rerender(quiet) {
    const mine = ++seq;
    const local = localProblems();
    if (local.length) {
      showProblems(local);
      say("Not rendered: fix the problem shown beside the sentence.");
      return;
    }
    say("Rendering…");
    const started = performance.now();
    const r = await post("/api/render", { pick: data.pick, edits: edits() });
    const reply = await r.json();
    if (mine !== seq) return;
    showProblems(reply.problems);
    if (reply.problems.length) {
      say("Not rendered: fix the problem shown.");
      return;
    }
    showPages(reply);
    const ms = Math.round(performance.now() - started);
    document.getElementById("timing").textContent = `Rendered in ${ms} ms (layout and images ${reply.ms} ms).`;
    if (!quiet) say(edits().length ? `Rendered with ${edits().length} unsaved change(s).` : "Rendered.");
  }

  const schedule = () => { clearTimeout(timer); updateButtons(); timer = setTimeout(() => rerender(false), 200); };
  fields.forEach((f) => f.addEventListener("input", schedule));

  saveButton.addEventListener("click", async () => {
    const r = await post("/api/save", { pick: data.pick, edits: edits(), base: data.base });
    const reply = await r.json();
    // The outcome stays on screen until the next save or discard; renders
    // while typing do not wipe it.
    const note = document.getElementById("save-note");
    if (r.ok) {
      Object.assign(data.base, reply.fingerprints);
      fields.forEach((f) => { f.dataset.original = f.value; });
      showProblems([]);
      note.textContent = "";
      say(reply.saved.length ? `Saved ${reply.saved.join(" and ")}.` : "Nothing to save.");
    } else {
      const placed = reply.problems.filter((p) => p.key);
      showProblems(placed);
      note.textContent = "Not saved: " + reply.problems.map((p) => p.message).join(" ");
      say("Not saved.");
    }
  });

  discardButton.addEventListener("click", () => {
    fields.forEach((f) => { f.value = f.dataset.original; });
    document.getElementById("save-note").textContent = "";
    showProblems([]);
    rerender(false);
  });

  // Files edited elsewhere: reload when nothing is pending, warn otherwise.
  let version = data.version;
  setInterval(async () => {
    const r = await fetch("/api/version");
    if (!r.ok) return;
    const now = await r.json();
    if (now.version === version) return;
    version = now.version;
    const mine = Object.keys(data.base).filter((f) => now.files[f] !== data.base[f]);
    if (!mine.length) {
      rerender(true); // a layout or another file changed: redraw
    } else if (!edits().length) {
      location.reload();
    } else {
      say(`${mine.join(" and ")} changed on disk. Your changes are kept here; saving a file that changed will be refused.`);
      rerender(true);
    }
  }, 2000);
})();
