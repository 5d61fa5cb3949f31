// The console's only script: progressive touches, every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Heat-map colours come as data attributes: the CSP allows no inline styles.
  for (const cell of document.querySelectorAll("td[data-colour]")) {
    cell.style.backgroundColor = cell.dataset.colour;
  }
  // A changed filter applies at once.
  const filters = document.getElementById("filters");
  if (filters) {
    for (const select of filters.querySelectorAll("select")) {
      select.addEventListener("change", () => filters.submit());
    }
  }
  // One click per form: a second click would send the same event again (harmless, but noisy).
  for (const form of document.querySelectorAll("form[method=post]")) {
    form.addEventListener("submit", () => {
      for (const button of form.querySelectorAll("button")) button.disabled = true;
    });
  }
});
