/* Behaviour every page shares, kept out of the HTML so the Content-Security-Policy can forbid
   inline script and style: a form with data-confirm asks first, a select with data-autosubmit
   submits its form, an element with data-width (a percentage) is drawn that wide — also in the
   fragments htmx swaps in. */
(function () {
  function widths(root) {
    root.querySelectorAll("[data-width]").forEach(function (el) {
      var pct = parseFloat(el.dataset.width);
      el.style.width = (isFinite(pct) ? Math.max(0, Math.min(100, pct)) : 0) + "%";
    });
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
  }, true);
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) el.form.submit();
  });
  document.addEventListener("DOMContentLoaded", function () { widths(document); });
  document.addEventListener("htmx:afterSwap", function (event) { widths(event.target); });
})();
