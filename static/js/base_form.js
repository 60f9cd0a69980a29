// New-base form: show only the inputs that matter for the chosen mode and database type.
// Without JavaScript every input stays visible and the server still validates everything.
(function () {
  const form = document.getElementById("base-form");
  if (!form) return;
  const show = (name, visible) => {
    const el = document.getElementById("f-" + name);
    if (el) el.hidden = !visible;
  };
  function update() {
    const mode = (form.querySelector("input[name=mode]:checked") || {}).value || "scratch";
    const kind = form.querySelector("select[name=kind]").value;
    const external = mode !== "scratch";
    show("url", mode === "url");
    show("kind", mode === "fields");
    ["host", "port", "user", "password", "database"].forEach((n) => show(n, mode === "fields" && kind !== "sqlite3"));
    show("schema", mode === "fields" && kind === "pg");
    show("path", mode === "fields" && kind === "sqlite3");
    show("allow_schema_edit", external);
    show("allow_data_edit", external);
    const test = form.querySelector("[data-test-connection]");
    if (test) test.hidden = !external;
  }
  form.addEventListener("change", update);
  update();
})();
