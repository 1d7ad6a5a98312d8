// The print page's "Print" button. Without JavaScript it stays hidden and the page says to use
// the browser's Print command, which prints the same thing.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
