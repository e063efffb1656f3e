// Redcard's page helpers: small, no framework, and every page works without them.
//
// data-confirm="…" on a button (or on a form): ask before the action. Cancelling the question
// does nothing at all: the form is not posted and the button's own script does not run.
// The question is the attribute's text, translated by the page.
(function () {
  "use strict";

  function ask(el) {
    return window.confirm(el.getAttribute("data-confirm"));
  }

  function stop(event) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }

  // capture phase: runs before the button's own click handler and before the form submits
  document.addEventListener("click", function (event) {
    var el = event.target.closest && event.target.closest("button[data-confirm], input[type=submit][data-confirm], a[data-confirm]");
    if (!el || el.disabled) return;
    var form = el.form;
    // a form the browser will refuse (a required field is empty) is not asked about yet
    if (form && el.type === "submit" && !form.noValidate && !form.checkValidity()) return;
    if (!ask(el)) stop(event);
  }, true);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-confirm")) return;
    if (event.submitter && event.submitter.hasAttribute("data-confirm")) return; // asked on click
    if (!ask(form)) stop(event);
  }, true);

  // the staff menu closes when the page around it is tapped
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.nav-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });
})();
