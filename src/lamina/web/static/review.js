// The stack draft review: switch every YAML diff between unified (the default) and side by
// side, and open every object at once. Both views are rendered by the server.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const mode = document.getElementById("diff-mode");
  if (mode) {
    mode.hidden = false;
    mode.addEventListener("click", () => {
      const side = mode.getAttribute("aria-pressed") !== "true";
      mode.setAttribute("aria-pressed", String(side));
      document.querySelectorAll(".diff-unified").forEach((t) => { t.hidden = side; });
      document.querySelectorAll(".diff-side").forEach((t) => { t.hidden = !side; });
    });
  }
  const expand = document.getElementById("expand-all");
  if (expand) {
    expand.hidden = false;
    expand.addEventListener("click", () => {
      const all = Array.from(document.querySelectorAll("details.object"));
      const open = !all.every((d) => d.open);
      all.forEach((d) => { d.open = open; });
      expand.textContent = open ? "Collapse all" : "Expand all";
    });
  }
});
