// Lamina web UI: writes go to the API with the session's CSRF token; problems with a path
// are shown next to the field they concern. No framework, no build step.
"use strict";

const Lamina = (() => {
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  async function api(method, url, body, contentType) {
    const headers = { "X-CSRF-Token": csrf(), Accept: "application/json" };
    let payload;
    if (body !== undefined) {
      headers["Content-Type"] = contentType || "application/json";
      payload = typeof body === "string" ? body : JSON.stringify(body);
    }
    const answer = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
    let data = null;
    const text = await answer.text();
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = { detail: text }; }
    }
    return { ok: answer.ok, status: answer.status, data };
  }

  // A form's fields as a JSON object: dotted names nest, data-type converts.
  function collect(form) {
    const out = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.dataset.skip !== undefined) continue;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked && el.dataset.type !== "boolean") continue;
      let value = el.value;
      const type = el.dataset.type;
      if (type === "boolean") value = el.checked;
      else if (type === "number") { if (value === "") continue; value = Number(value); }
      else if (type === "json") { if (value.trim() === "") continue; try { value = JSON.parse(value); } catch (_) { /* the API says what is wrong */ } }
      else if (type === "list") value = value.split(",").map((s) => s.trim()).filter(Boolean);
      else if (el.dataset.optional !== undefined && value === "") continue;
      let node = out;
      const parts = el.name.split(".");
      parts.slice(0, -1).forEach((p) => { node = node[p] = node[p] || {}; });
      node[parts[parts.length - 1]] = value;
    }
    return out;
  }

  function clearErrors(scope) {
    scope.querySelectorAll(".field-error.live").forEach((e) => e.remove());
    scope.querySelectorAll('[aria-invalid="true"]').forEach((e) => {
      e.removeAttribute("aria-invalid");
      e.removeAttribute("aria-describedby");
    });
    const summary = scope.querySelector("[data-summary]");
    if (summary) summary.textContent = "";
  }

  // Problem+json errors: each one with a path goes next to its field, the rest to the summary.
  function showProblem(scope, problem, status) {
    clearErrors(scope);
    const rest = [];
    const errors = (problem && problem.errors) || [];
    let first = null;
    errors.forEach((err, i) => {
      const path = err.path || "";
      const field = path && (scope.querySelector(`[data-path="${CSS.escape(path)}"]`) || scope.querySelector(`[name="${CSS.escape(path)}"]`));
      if (field) {
        const note = document.createElement("p");
        note.className = "field-error live";
        note.id = `err-${i}-${Math.random().toString(36).slice(2, 8)}`;
        note.textContent = err.message;
        field.setAttribute("aria-invalid", "true");
        field.setAttribute("aria-describedby", note.id);
        field.insertAdjacentElement("afterend", note);
        first = first || field;
      } else {
        rest.push(path ? `${path}: ${err.message}` : err.message);
      }
    });
    const summary = scope.querySelector("[data-summary]");
    if (summary) {
      const head = (problem && (problem.detail || problem.title)) || `The request failed (${status})`;
      summary.textContent = [head, ...rest].join(" · ");
    }
    if (first) first.focus();
  }

  function fill(template, data) {
    return template.replace(/\{([a-z_.]+)\}/g, (_, key) => {
      const value = key.split(".").reduce((o, k) => (o == null ? o : o[k]), data);
      return encodeURIComponent(value == null ? "" : String(value));
    });
  }

  // <form data-api="POST /api/v1/..." data-redirect="/x/{id}"> submits through the API.
  function bindForms(root) {
    root.querySelectorAll("form[data-api]").forEach((form) => {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
        const [method, url] = form.dataset.api.split(" ");
        const raw = form.querySelector("[data-raw-body]");
        const body = raw ? raw.value : collect(form);
        const button = form.querySelector('button[type="submit"]');
        if (button) button.disabled = true;
        try {
          const answer = await api(method, url, method === "DELETE" && !raw ? undefined : body, raw ? raw.dataset.rawBody : undefined);
          if (!answer.ok) { showProblem(form, answer.data, answer.status); return; }
          form.dispatchEvent(new CustomEvent("lamina:done", { detail: answer.data }));
          if (form.dataset.redirect) window.location.assign(fill(form.dataset.redirect, answer.data || {}));
          else if (form.dataset.reload !== undefined) window.location.reload();
        } finally {
          if (button) button.disabled = false;
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => bindForms(document));
  return { api, collect, showProblem, clearErrors, fill, csrf };
})();
window.Lamina = Lamina;
