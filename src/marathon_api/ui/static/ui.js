// The web UI's own script (htmx does the rest).
//
// Live updates without polling: the page listens to the stream named by <body data-events>
// (the facade's event stream, one `change` per burst) and each `change` makes every element
// marked `data-live` fetch itself again through htmx (its hx-trigger is "live"). A hidden tab
// closes its stream, as browsers allow few connections per host, and catches up when shown
// (the server greets every new stream with a `change`).
(function () {
  "use strict";
  var source = null;

  function refresh() {
    document.querySelectorAll("[data-live]").forEach(function (element) {
      htmx.trigger(element, "live");
    });
  }

  function open() {
    var url = document.body.dataset.events;
    if (!url || source || document.hidden) return;
    source = new EventSource(url);
    source.addEventListener("change", refresh);
  }

  function close() {
    if (source) {
      source.close();
      source = null;
    }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) close(); else open();
  });
  window.addEventListener("pagehide", close);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", open);
  } else {
    open();
  }
})();

// A definition checked in place (htmx swaps in #preview) marks its text area invalid exactly
// when the check found problems, as the server does when it renders the whole page.
document.addEventListener("htmx:after:swap", function () {
  var definition = document.getElementById("definition");
  var preview = document.getElementById("preview");
  if (!definition || !preview) return;
  var refused = preview.querySelector("#error-summary") !== null;
  var described = ["definition-help"].concat(refused ? ["error-summary"] : []).join(" ");
  definition.setAttribute("aria-describedby", described);
  if (refused) definition.setAttribute("aria-invalid", "true");
  else definition.removeAttribute("aria-invalid");
});

// A live part replaced while the reader had a warnings list open keeps it open (htmx itself
// keeps the focus on an element with the same id).
var openDetails = [];
document.addEventListener("htmx:before:swap", function () {
  openDetails = Array.prototype.map.call(document.querySelectorAll("details[open][id]"), function (d) {
    return d.id;
  });
});
document.addEventListener("htmx:after:swap", function () {
  openDetails.forEach(function (id) {
    var details = document.getElementById(id);
    if (details) details.open = true;
  });
});
