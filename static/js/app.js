// Copy buttons: an element with data-copy puts its text on the clipboard. On a variant of
// the photo page, data-copy-part ("post", "caption" or "hashtags") copies what its fields
// hold now, edits included (see photo_page.js). "Copied ✓" is also said in the nearest
// role="status" element, for screen readers.
function copyText(button) {
  const part = button.getAttribute("data-copy-part");
  const variant = button.closest(".suggestion");
  if (part && variant && window.variantText) return window.variantText(variant, part);
  return button.getAttribute("data-copy");
}

function copyStatus(button) {
  const holder = button.closest(".actions") || button.parentElement;
  return holder ? holder.querySelector(".copy-status") : null;
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const text = copyText(button);
  const label = button.dataset.label || button.textContent;
  button.dataset.label = label;
  const status = copyStatus(button);
  let said;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
    } else {
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    button.textContent = "Copied ✓";
    said = `Copied ✓ ${label.replace(/^Copy /, "")}`;
  } catch (error) {
    button.textContent = "Copy failed: select the text";
    said = "Copy failed: select the text and copy it yourself";
  }
  button.dataset.copied = "true";
  if (status) status.textContent = said;
  setTimeout(() => {
    button.textContent = label;
    if (status && status.textContent === said) status.textContent = "";
  }, 1500);
});
