// Clicking an inline [n] opens the cited passage under that answer and flashes it in the
// sources panel. (Without this script the link still jumps to the panel's passage.)
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a.rag-cite");
  if (!link) return;
  event.preventDefault();
  const n = (link.getAttribute("href") || "").replace("#rag-src-", "");
  const flash = (el) => {
    el.classList.add("rag-flash");
    setTimeout(() => el.classList.remove("rag-flash"), 1600);
  };
  let scope = link.parentElement;
  while (scope && !scope.querySelector(`details.rag-card-${n}`)) scope = scope.parentElement;
  const card = scope && scope.querySelector(`details.rag-card-${n}`);
  if (card) {
    card.open = true;
    card.scrollIntoView({ block: "nearest", behavior: "smooth" });
    flash(card);
  }
  const panel = document.getElementById(`rag-src-${n}`);
  if (panel) flash(panel);
});
