// The dashboard's one script: it keeps a server-rendered page current.
// The server renders every row; this script only places what it is sent
// (see the Patch type in src/view/mod.rs): a section replaced whole, a
// row replaced or inserted before its successor, a row deleted. It never
// builds markup from cluster data itself.
"use strict";

(function () {
  const status = document.getElementById("live");
  const say = (text, state) => {
    if (status) status.textContent = text;
    document.body.dataset.state = state;
  };

  const rowOf = (tbody, key) => {
    for (const row of tbody.rows) if (row.dataset.key === key) return row;
    return null;
  };

  const parse = (html) => {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  };

  const apply = (patch) => {
    const section = document.getElementById(patch.section);
    if (!section) return;
    if (patch.op === "replace") {
      section.replaceWith(parse(patch.html));
      return;
    }
    if (patch.op === "stalled") {
      section.querySelector(".note").textContent = patch.message;
      return;
    }
    const tbody = section.querySelector("tbody");
    if (!tbody) return;
    const existing = rowOf(tbody, patch.key);
    if (patch.op === "delete") {
      if (existing) existing.remove();
    } else if (patch.op === "upsert") {
      const row = parse(patch.html);
      if (existing) existing.replaceWith(row);
      else tbody.insertBefore(row, patch.before ? rowOf(tbody, patch.before) : null);
    }
  };

  // the namespace picker: a choice is a new page for that namespace
  const picker = document.getElementById("namespace");
  if (picker) picker.addEventListener("change", () => picker.form.submit());

  const live = document.body.dataset.live;
  if (live && window.EventSource) {
    say("connecting…", "connecting");
    const source = new EventSource(live);
    source.addEventListener("patch", (event) => JSON.parse(event.data).forEach(apply));
    source.addEventListener("live", () => say("● live", "live"));
    source.addEventListener("signedout", () => {
      source.close();
      window.location.assign("/signin");
    });
    source.onerror = () => say("reconnecting…", "reconnecting");
  }

  const log = document.getElementById("log");
  if (log && log.dataset.follow && window.EventSource) {
    const source = new EventSource(log.dataset.follow);
    source.addEventListener("log", (event) => {
      const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 4;
      log.append(JSON.parse(event.data));
      if (atBottom) window.scrollTo(0, document.body.scrollHeight);
    });
    source.addEventListener("logerror", (event) => {
      source.close();
      const note = document.createElement("p");
      note.className = "notice refused";
      note.textContent = event.data;
      log.after(note);
    });
    // the server answers once the kubelet follows the log: from here on, every line shows
    source.onopen = () => say("following", "live");
  }
})();
