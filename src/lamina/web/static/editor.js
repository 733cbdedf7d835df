// The draft editor: a YAML textarea with a line-number gutter, checked as you type by the
// API's /check route (nothing is saved by checking), saved with the draft's edit counter,
// previewed, and published. Every write goes to the JSON API through Lamina.api.
"use strict";

(() => {
  const CHECK_DELAY_MS = 400;

  function init() {
    const root = document.getElementById("draft");
    if (!root) return;
    const draftUrl = root.dataset.api;
    const editable = root.dataset.editable === "true";
    const text = document.getElementById("yaml");
    const gutter = document.getElementById("gutter");
    const list = document.getElementById("issues");
    const state = document.getElementById("check-state");
    const saveForm = document.getElementById("save-form");
    const metaForm = document.getElementById("meta-form");
    const counter = document.getElementById("draft-version");
    let version = Number(root.dataset.version);
    let issues = [];
    let checked = { text: null, document: null };
    let timer = null;
    let sequence = 0;
    let dirty = false;

    // --- gutter --------------------------------------------------------------------------
    function drawGutter() {
      const count = text.value.split("\n").length;
      const byLine = new Map();
      issues.forEach((issue) => {
        if (!issue.line) return;
        if (!byLine.has(issue.line)) byLine.set(issue.line, []);
        byLine.get(issue.line).push(issue);
      });
      const lines = document.createDocumentFragment();
      for (let n = 1; n <= count; n += 1) {
        const span = document.createElement("span");
        span.dataset.line = String(n);
        span.textContent = String(n);
        const here = byLine.get(n);
        if (here) {
          const error = here.some((i) => i.severity === "error");
          const label = `Line ${n}, ${error ? "error" : "warning"}: ${here.map((i) => i.message).join("; ")}`;
          span.className = error ? "bad" : "warn";
          span.title = label;
          span.setAttribute("role", "img");
          span.setAttribute("aria-label", label);
        }
        lines.append(span);
      }
      gutter.replaceChildren(lines);
      gutter.scrollTop = text.scrollTop;
    }

    function focusLine(line) {
      const all = text.value.split("\n");
      const n = Math.max(1, Math.min(line, all.length));
      const start = all.slice(0, n - 1).reduce((sum, l) => sum + l.length + 1, 0);
      text.focus();
      text.setSelectionRange(start, start + all[n - 1].length);
      const height = parseFloat(getComputedStyle(text).lineHeight) || 18;
      text.scrollTop = Math.max(0, (n - 1) * height - text.clientHeight / 3);
      gutter.scrollTop = text.scrollTop;
    }

    // --- live check ----------------------------------------------------------------------
    function showIssues() {
      const items = issues.map((issue) => {
        const li = document.createElement("li");
        li.className = issue.severity;
        const button = document.createElement("button");
        button.type = "button";
        const where = issue.path || "document";
        const at = issue.line ? ` (line ${issue.line})` : "";
        button.textContent = `${issue.severity === "error" ? "Error" : "Warning"} at ${where}: ${issue.message}${at}`;
        button.dataset.path = issue.path;
        if (issue.line) button.addEventListener("click", () => focusLine(issue.line));
        li.append(button);
        return li;
      });
      list.replaceChildren(...items);
      const errors = issues.filter((i) => i.severity === "error").length;
      const warnings = issues.length - errors;
      state.textContent = errors === 0
        ? `No issues${warnings ? ` (${warnings} warning${warnings > 1 ? "s" : ""})` : ""}.`
        : `${errors} issue${errors > 1 ? "s" : ""} to fix.`;
      state.className = `check-state ${errors ? "problem" : "notice"}`;
      drawGutter();
    }

    // Checks the editor's text; answers the parsed document, or null when the check failed
    // or newer text was typed meanwhile.
    async function check() {
      const mine = ++sequence;
      const sent = text.value;
      state.textContent = "Checking…";
      const answer = await Lamina.api("POST", `${draftUrl}/check`, sent, "application/yaml");
      if (mine !== sequence) return null;
      if (!answer.ok) {
        state.textContent = `The check failed: ${(answer.data && answer.data.detail) || answer.status}`;
        state.className = "check-state problem";
        return null;
      }
      issues = answer.data.issues || [];
      checked = { text: sent, document: answer.data.document };
      showIssues();
      return checked;
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(check, CHECK_DELAY_MS);
    }

    text.addEventListener("scroll", () => { gutter.scrollTop = text.scrollTop; });
    text.addEventListener("input", () => {
      dirty = true;
      drawGutter();
      if (editable) schedule();
    });
    drawGutter();
    if (editable) check();

    // --- save ----------------------------------------------------------------------------
    function say(form, message) {
      const summary = form.querySelector("[data-summary]");
      Lamina.clearErrors(form);
      summary.textContent = message;
    }

    async function currentDocument(form) {
      clearTimeout(timer);
      const latest = checked.text === text.value ? checked : await check();
      const doc = latest && latest.document;
      if (!doc || typeof doc !== "object" || Array.isArray(doc) || !doc.spec || typeof doc.spec !== "object") {
        say(form, "The document must be valid YAML with a 'spec' mapping before it can be saved: fix the issues listed above.");
        return null;
      }
      return doc;
    }

    // Saves `doc`; true when it was stored. A stale edit counter (409) is explained.
    async function store(form, doc) {
      const metadata = doc.metadata && typeof doc.metadata === "object" ? doc.metadata : {};
      const answer = await Lamina.api("POST", draftUrl, { spec: doc.spec, metadata, version });
      if (answer.status === 409) {
        say(form, "Not saved: this draft was changed elsewhere since this page loaded. "
          + "Copy your text, reload the page, and apply your changes to the newer draft.");
        return false;
      }
      if (!answer.ok) {
        Lamina.showProblem(form, answer.data, answer.status);
        return false;
      }
      version = answer.data.version;
      root.dataset.version = String(version);
      if (counter) counter.textContent = String(version);
      dirty = false;
      return true;
    }

    async function save() {
      const doc = await currentDocument(saveForm);
      if (!doc) return false;
      const done = await store(saveForm, doc);
      if (done) say(saveForm, "");
      if (done) state.textContent = `Saved (edit ${version}). ${state.textContent}`;
      return done;
    }

    if (saveForm && editable) {
      saveForm.addEventListener("submit", async (event) => {
        event.preventDefault();
        const button = saveForm.querySelector('button[type="submit"]');
        button.disabled = true;
        try { await save(); } finally { button.disabled = false; }
      });
    }

    // The details form writes into the document's metadata, saves, and reloads so the
    // editor shows the stored text.
    if (metaForm && editable) {
      metaForm.addEventListener("submit", async (event) => {
        event.preventDefault();
        const doc = await currentDocument(metaForm);
        if (!doc) return;
        const fields = Lamina.collect(metaForm);
        doc.metadata = { ...(doc.metadata && typeof doc.metadata === "object" ? doc.metadata : {}), ...fields };
        if (await store(metaForm, doc)) window.location.reload();
      });
    }

    // --- publish -------------------------------------------------------------------------
    const dialog = document.getElementById("publish-dialog");
    const publishForm = document.getElementById("publish-form");
    const opener = document.getElementById("publish-open");
    if (dialog && opener) {
      opener.addEventListener("click", () => dialog.showModal());
      document.getElementById("publish-cancel").addEventListener("click", () => dialog.close());
      publishForm.addEventListener("submit", async (event) => {
        event.preventDefault();
        const button = publishForm.querySelector('button[type="submit"]');
        button.disabled = true;
        try {
          if (dirty || checked.text !== text.value) {
            if (!(await save())) {
              say(publishForm, "The document could not be saved; see the messages beside the editor.");
              return;
            }
          }
          const body = Lamina.collect(publishForm);
          if (!body.changelog) delete body.changelog;
          const answer = await Lamina.api("POST", `${draftUrl}/publish`, body);
          if (!answer.ok) { Lamina.showProblem(publishForm, answer.data, answer.status); return; }
          const made = answer.data;
          window.location.assign(`/profiles/${encodeURIComponent(made.profile.name)}?version=${made.version.version}`);
        } finally {
          button.disabled = false;
        }
      });
    }

    // --- preview: render and effective values (of the saved draft) ------------------------
    const previewForm = document.getElementById("preview-form");
    const renderOut = document.getElementById("render-output");
    const valuesOut = document.getElementById("values-output");

    function renderBody() {
      const parameters = [];
      previewForm.querySelectorAll("[data-param]").forEach((input) => {
        if (input.value === "") return;
        const value = input.dataset.kind === "number" ? Number(input.value)
          : input.dataset.kind === "boolean" ? input.value === "true" : input.value;
        parameters.push({ name: input.dataset.param, value });
      });
      const cluster = previewForm.querySelector('[name="cluster"]').value;
      return { parameters, cluster: { name: cluster } };
    }

    function heading(textContent) {
      const h = document.createElement("h3");
      h.textContent = textContent;
      return h;
    }

    previewForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      Lamina.clearErrors(previewForm);
      const answer = await Lamina.api("POST", `${draftUrl}/render`, renderBody());
      if (!answer.ok) { Lamina.showProblem(previewForm, answer.data, answer.status); renderOut.replaceChildren(); return; }
      const parts = [heading("Rendered layers")];
      answer.data.layers.forEach((layer) => {
        const details = document.createElement("details");
        details.className = "rendered-layer";
        const summary = document.createElement("summary");
        summary.textContent = `${layer.name} (${layer.objects_count} object${layer.objects_count === 1 ? "" : "s"})`;
        const pre = document.createElement("pre");
        pre.textContent = Object.entries(layer.files)
          .map(([path, body]) => `# Source: ${path}\n${body.trim()}\n`).join("---\n");
        details.append(summary, pre);
        parts.push(details);
      });
      renderOut.replaceChildren(...parts);
    });

    document.getElementById("values-button").addEventListener("click", async () => {
      Lamina.clearErrors(previewForm);
      const layer = previewForm.querySelector('[name="layer"]').value;
      const url = `${draftUrl}/effective-values?layer=${encodeURIComponent(layer)}`;
      const answer = await Lamina.api("POST", url, renderBody());
      if (!answer.ok) { Lamina.showProblem(previewForm, answer.data, answer.status); valuesOut.replaceChildren(); return; }
      const table = document.createElement("table");
      table.className = "list";
      const caption = document.createElement("caption");
      caption.textContent = `Keys of layer ${layer} set above the chart's defaults`;
      const head = document.createElement("thead");
      head.innerHTML = '<tr><th scope="col">Key</th><th scope="col">Set by</th><th scope="col">Value</th></tr>';
      const body = document.createElement("tbody");
      answer.data.origins.forEach((origin) => {
        const row = document.createElement("tr");
        [origin.path, origin.level, JSON.stringify(origin.value)].forEach((cell, i) => {
          const td = document.createElement(i === 0 ? "th" : "td");
          if (i === 0) td.scope = "row";
          td.textContent = cell;
          row.append(td);
        });
        body.append(row);
      });
      table.append(caption, head, body);
      const all = document.createElement("details");
      const summary = document.createElement("summary");
      summary.textContent = `All effective values of ${layer} (chart ${answer.data.chart || ""})`;
      const pre = document.createElement("pre");
      pre.textContent = JSON.stringify(answer.data.values, null, 2);
      all.append(summary, pre);
      valuesOut.replaceChildren(heading(`Effective values: ${layer}`), table, all);
    });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
