// Keyboard help for the console: "/" jumps to the order search from anywhere but a text field.
// (No inline handlers: the pages carry no script of their own, and htmx runs with allowEval off.)
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target instanceof HTMLElement && (target.isContentEditable || target.closest("input, textarea, select"))) return;
  const search = document.getElementById("console-search");
  if (!search) return;
  event.preventDefault();
  search.focus();
  search.select();
});

// An action form swapped into the order view takes the focus, so the keyboard user can type at once.
document.addEventListener("htmx:afterSwap", (event) => {
  const panel = event.detail && event.detail.target;
  if (!(panel instanceof HTMLElement) || panel.id !== "action-panel") return;
  const first = panel.querySelector("input:not([type=hidden]), select, textarea, button");
  if (first instanceof HTMLElement) first.focus();
});
