// Spreadsheet keys for the table page: arrows move between cells, Enter edits (htmx does the
// rest), and after a save or Esc the focus returns to the cell. The server renders every cell.
(function () {
  function cellAt(td, dRow, dCol) {
    const tr = td.parentElement;
    const col = Array.prototype.indexOf.call(tr.children, td) + dCol;
    let row = tr;
    if (dRow < 0) row = tr.previousElementSibling;
    if (dRow > 0) row = tr.nextElementSibling;
    return row ? row.children[col] : null;
  }

  document.addEventListener("keydown", (event) => {
    const td = event.target.closest && event.target.closest("table.data td.cell");
    if (!td || td.classList.contains("editing")) return;
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const move = moves[event.key];
    if (!move) return;
    const next = cellAt(td, move[0], move[1]);
    if (next && next.classList.contains("cell")) {
      event.preventDefault();
      next.focus();
    }
  });

  document.body.addEventListener("htmx:afterSwap", (event) => {
    const el = event.detail.elt;
    const td = el && el.matches && el.matches("td.cell") ? el : null;
    if (td && !td.classList.contains("editing")) td.focus();
  });
})();
