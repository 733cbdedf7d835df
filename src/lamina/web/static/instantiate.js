// The instantiate form: checks each parameter before anything is sent (HTML constraint
// validation plus the parameter's pattern, with the message next to the field), then asks
// the API for a stack draft and opens its review. Values left at the version's default are
// not sent, so defaults keep following the version being rendered.
"use strict";

(() => {
  const form = document.getElementById("instantiate");
  if (!form) return;
  const fields = () => Array.from(form.querySelectorAll("[data-param]"));

  // A parameter pattern is searched in the value, as the server does; JavaScript's flags
  // differ from the server's engine, so an unreadable pattern is left to the server.
  function matches(pattern, value) {
    for (const flags of ["v", "u", ""]) {
      try { return new RegExp(pattern, flags).test(value); } catch (_) { /* next flags */ }
    }
    return true;
  }

  function problemOf(el) {
    el.setCustomValidity("");
    const pattern = el.dataset.pattern;
    if (pattern && el.value !== "" && !matches(pattern, el.value)) {
      el.setCustomValidity(`Must match the pattern ${pattern}.`);
    }
    return el.checkValidity() ? "" : el.validationMessage;
  }

  // Hints stay linked to their field; an error note joins them.
  function link(el, note) {
    const hint = `${el.id}-hint`;
    el.setAttribute("aria-describedby", note ? `${note.id} ${hint}` : hint);
  }

  function showLocal(el, message) {
    const id = `${el.id}-error`;
    const old = document.getElementById(id);
    if (old) old.remove();
    if (!message) {
      el.removeAttribute("aria-invalid");
      link(el, null);
      return;
    }
    const note = document.createElement("p");
    note.className = "field-error local";
    note.id = id;
    note.textContent = message;
    el.setAttribute("aria-invalid", "true");
    (el.closest("label") || el).insertAdjacentElement("afterend", note);
    link(el, note);
  }

  function clearAll() {
    Lamina.clearErrors(form);
    form.querySelectorAll(".field-error.local").forEach((e) => e.remove());
    fields().forEach((el) => { el.removeAttribute("aria-invalid"); link(el, null); });
  }

  // The value to send, or undefined to send nothing (empty, or the version's default).
  function valueOf(el) {
    const kind = el.dataset.kind;
    const dflt = el.dataset.default;
    if (kind === "boolean") {
      const on = el.checked;
      return dflt !== undefined && String(on) === dflt ? undefined : on;
    }
    if (el.value === "") return undefined;
    if (kind === "number") {
      const n = Number(el.value);
      return dflt !== undefined && n === Number(dflt) ? undefined : n;
    }
    if (kind === "enum") return el.value === dflt ? undefined : JSON.parse(el.value);
    if (kind === "string" && dflt !== undefined && el.value === dflt) return undefined;
    return el.value; // secrets are sent as typed, never kept in the page
  }

  function body() {
    const parameters = [];
    fields().forEach((el) => {
      const value = valueOf(el);
      if (value !== undefined) parameters.push({ name: el.dataset.param, value });
    });
    const out = { profile_id: Number(form.dataset.profileId), version: Number(form.dataset.version), parameters };
    const raw = form.querySelector("#values");
    if (raw && raw.value.trim() !== "") out.values = JSON.parse(raw.value);
    return out;
  }

  function checkAll() {
    let first = null;
    const cluster = form.querySelector("select#cluster");
    const checked = cluster ? [cluster, ...fields()] : fields();
    checked.forEach((el) => {
      const message = problemOf(el);
      if (el.dataset.param) showLocal(el, message);
      else if (message) showLocal(el, "Choose the cluster to instantiate on.");
      else showLocal(el, "");
      if (message && !first) first = el;
    });
    const raw = form.querySelector("#values");
    if (raw && raw.value.trim() !== "") {
      try {
        const parsed = JSON.parse(raw.value);
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error();
      } catch (_) {
        showLocal(raw, "Write a JSON object: {\"layer\": {\"key\": \"value\"}}.");
        first = first || raw;
      }
    }
    return first;
  }

  fields().forEach((el) => {
    el.addEventListener("change", () => showLocal(el, problemOf(el)));
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearAll();
    const wrong = checkAll();
    if (wrong) { wrong.focus(); return; }
    const cluster = form.querySelector("select#cluster").value;
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const url = `/api/v1/org/clusters/${encodeURIComponent(cluster)}/stacks/from-profile`;
      const answer = await Lamina.api("POST", url, body());
      if (!answer.ok) {
        Lamina.showProblem(form, answer.data, answer.status);
        fields().forEach((el) => {
          const note = el.getAttribute("aria-invalid") === "true" && el.nextElementSibling;
          link(el, note && note.classList.contains("field-error") ? note : null);
        });
        return;
      }
      window.location.assign(`/clusters/${encodeURIComponent(cluster)}/drafts/${answer.data.draft_id}`);
    } finally {
      button.disabled = false;
    }
  });
})();
