// The page-wide message bar for errors that belong to no single field or card.

export function showNotice(message) {
  document.getElementById("notice-text").textContent = message;
  document.getElementById("notice").hidden = false;
}

export function clearNotice() {
  document.getElementById("notice").hidden = true;
  document.getElementById("notice-text").textContent = "";
}

export function initNotice() {
  document.getElementById("notice-close").addEventListener("click", clearNotice);
}
