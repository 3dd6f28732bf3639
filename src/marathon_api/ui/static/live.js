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
