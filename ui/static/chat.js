// Clicking an inline [n] opens the cited passage under that answer and flashes it in the
// sources panel. (Without this script the link still jumps to the panel's passage.)
// It also asks the server for the answer's sources and, for a PDF, the cited page as an
// image: the answer's place in the chat and n go through a hidden textbox and button.
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
  const answer = link.closest(".rag-answer");
  const turn = answer && (answer.className.match(/rag-turn-(\d+)/) || [])[1];
  const key = document.querySelector("#rag-cite-key textarea, #rag-cite-key input");
  const go = document.getElementById("rag-cite-go");
  if (turn !== undefined && key && go) {
    const tab = [...document.querySelectorAll("button[role=tab]")].find(
      (b) => b.innerText.trim() === "Sources",
    );
    if (tab && tab.getAttribute("aria-selected") !== "true") tab.click();
    key.value = `${turn}:${n}`;
    key.dispatchEvent(new Event("input", { bubbles: true }));
    // Let Gradio take in the new value before the click sends it.
    setTimeout(() => go.click(), 30);
  }
  const panel = document.getElementById(`rag-src-${n}`);
  if (panel) flash(panel);
});
