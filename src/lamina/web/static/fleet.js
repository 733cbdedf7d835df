// Fleet pages: a job page follows its job's event stream (`result`, `state`, `end`), adds
// each cluster's result as it arrives, keeps the counts and state current, and announces
// progress in its status region. Results already on the page are not added twice.
"use strict";

(() => {
  const BADGES = { committed: "good", would_change: "warn", failed: "bad" };
  const STATE_BADGES = { succeeded: "good", failed: "bad", cancelled: "warn" };
  const $ = (id) => document.getElementById(id);

  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    return node;
  }

  const clusterUrl = (name) => `/clusters/${encodeURIComponent(name)}`;

  // The row templates/fleet_result.html renders on the server, built from a JobResultOut.
  function row(result) {
    const d = result.detail || {};
    const ch = d.changes;
    const tr = el("tr", null, { "data-result": String(result.id) });
    const name = el("td");
    name.append(el("a", result.cluster, { href: clusterUrl(result.cluster) }));
    const outcome = el("td");
    outcome.append(el("span", result.status.replace("_", " "), { class: `badge ${BADGES[result.status] || ""}` }));
    const version = el("td", ch ? `v${ch.version_from} → v${ch.version_to}` : "—");
    const commit = el("td", d.commit_sha ? null : "—");
    if (d.commit_sha) {
      commit.append(el("code", d.commit_sha.slice(0, 8), { title: d.commit_sha }));
      if (d.revision) commit.append(` (revision ${d.revision})`);
    }
    const details = el("td");
    if (ch) {
      const lead = result.status === "would_change" ? "Would change" : "Changes";
      details.append(el("span", `${lead}: ${ch.added} added, ${ch.changed} changed, ${ch.removed} removed, ${ch.parameters} parameters.`), " ");
    }
    if (d.reason) details.append(el("span", d.reason), " ");
    if (d.draft_id) {
      details.append(el("a", "Review the stack draft", { href: `${clusterUrl(result.cluster)}/drafts/${d.draft_id}` }));
    }
    tr.append(name, outcome, version, commit, details);
    return tr;
  }

  function follow(body) {
    const seen = new Set([...body.querySelectorAll("tr[data-result]")].map((tr) => tr.dataset.result));
    const progress = $("job-progress");
    let arrived = 0;
    let done = Number($("job-done").textContent);
    const total = () => Number($("job-total").textContent);

    function setCount(status, n) {
      const node = $(`count-${status}`);
      if (node) node.textContent = String(n);
    }

    function setState(state) {
      const badge = $("job-state");
      badge.textContent = state;
      badge.className = `badge ${STATE_BADGES[state] || ""}`;
    }

    function onResult(event) {
      const result = JSON.parse(event.data);
      if (seen.has(String(result.id))) return;
      seen.add(String(result.id));
      body.append(row(result));
      arrived += 1;
      body.dataset.arrived = String(arrived);
      const counter = $(`count-${result.status}`);
      if (counter) counter.textContent = String(Number(counter.textContent) + 1);
      done += 1;
      $("job-done").textContent = String(done);
      $("job-empty").hidden = true;
      progress.textContent = `${done} of ${total()} clusters done; ${result.cluster}: ${result.status.replace("_", " ")}.`;
    }

    function onState(event) {
      const job = JSON.parse(event.data);
      setState(job.state);
      $("job-total").textContent = String(job.total);
      Object.entries(job.counts || {}).forEach(([status, n]) => setCount(status, n));
      done = job.done;
      $("job-done").textContent = String(done);
      if (!["succeeded", "failed", "cancelled"].includes(job.state)) progress.textContent = `The job is ${job.state}.`;
    }

    const source = new EventSource(body.dataset.events);
    source.addEventListener("result", onResult);
    source.addEventListener("state", onState);
    source.addEventListener("end", (event) => {
      source.close();
      const { state } = JSON.parse(event.data);
      setState(state);
      body.dataset.finished = "true";
      const cancel = $("job-cancel");
      if (cancel) cancel.hidden = true;
      const cancelling = $("job-cancelling");
      if (cancelling) cancelling.hidden = true;
      const real = $("job-real");
      if (real) real.hidden = false;
      progress.textContent = `The job ${state}: ${done} of ${total()} clusters done.`;
    });
  }

  function bindCancel() {
    const form = $("job-cancel");
    if (!form) return;
    form.addEventListener("lamina:done", () => {
      form.hidden = true;
      $("job-progress").textContent = "Cancel requested: the job stops after its current batch.";
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    bindCancel();
    const body = $("job-results");
    if (body && body.dataset.finished !== "true") follow(body);
  });
})();
