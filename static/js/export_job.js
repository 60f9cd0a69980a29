// A view export's page (templates/views/export_job.html): when the polled progress shows the
// finished file's link, follow it once (the browser downloads it: Content-Disposition
// attachment). The link stays for a blocked download; a reload does not download again.
(function () {
  function autoDownload() {
    const link = document.querySelector("a[data-auto-download]");
    if (!link) return;
    const key = "export-downloaded-" + link.dataset.autoDownload;
    try {
      if (sessionStorage.getItem(key)) return;
      sessionStorage.setItem(key, "1");
    } catch (e) {
      /* storage refused: download anyway */
    }
    link.click();
  }
  document.addEventListener("htmx:afterSettle", autoDownload);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", autoDownload);
  } else {
    autoDownload();
  }
})();
