// The console's only script: it reveals the "Copy key" buttons and copies a key when asked.
// Everything else works without it; the page's Content-Security-Policy allows no other script.
"use strict";

function announce(text) {
  const status = document.getElementById("copy-status");
  if (status) {
    status.textContent = text;
  }
}

async function copyKey(button) {
  const field = document.getElementById(button.dataset.copy);
  if (!field) {
    return;
  }
  try {
    await navigator.clipboard.writeText(field.value);
  } catch (error) {
    // No clipboard permission (or an old browser): select the text and use the legacy command.
    field.focus();
    field.select();
    if (!document.execCommand("copy")) {
      announce("Could not copy; the key is selected, press Ctrl+C.");
      return;
    }
  }
  button.textContent = "Copied";
  announce("Key copied to the clipboard.");
  setTimeout(() => { button.textContent = "Copy key"; }, 2000);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.copy[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", () => copyKey(button));
  }
});
