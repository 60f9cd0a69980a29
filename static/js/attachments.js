// Attachment panels (templates/views/attachments.html#panel): drop files on a panel
// to upload them. The panel's own form does the upload (htmx), so limits and errors are the
// server's as with the file picker.
(() => {
  if (window.nocoAttachments) return;
  window.nocoAttachments = true;
  const panelOf = (event) => event.target.closest && event.target.closest(".attachments");
  document.addEventListener("dragover", (event) => {
    const panel = panelOf(event);
    if (!panel || !panel.querySelector(".att-upload")) return;
    event.preventDefault();
    panel.classList.add("att-drop");
  });
  document.addEventListener("dragleave", (event) => {
    const panel = panelOf(event);
    if (panel && !panel.contains(event.relatedTarget)) panel.classList.remove("att-drop");
  });
  document.addEventListener("drop", (event) => {
    const panel = panelOf(event);
    const form = panel && panel.querySelector(".att-upload");
    if (!form || !event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault();
    panel.classList.remove("att-drop");
    form.querySelector("input[type=file]").files = event.dataTransfer.files;
    form.requestSubmit();
  });
})();
