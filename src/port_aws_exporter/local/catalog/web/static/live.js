// Reload the page when the catalog changes (the server's /_page/version moves), unless the reader
// turned "Live" off or is typing. Selects of a filter form submit it when changed.
(function () {
  "use strict";
  var body = document.body;
  var seen = body.dataset.version;
  var seconds = Number(body.dataset.refreshSeconds) || 2;
  var toggle = document.getElementById("live");
  var key = "local-catalog-live";

  if (toggle) {
    toggle.checked = window.localStorage.getItem(key) !== "off";
    toggle.addEventListener("change", function () {
      window.localStorage.setItem(key, toggle.checked ? "on" : "off");
    });
  }

  function typing() {
    var element = document.activeElement;
    return element && (element.tagName === "INPUT" || element.tagName === "TEXTAREA") && element.type !== "checkbox";
  }

  function poll() {
    if ((toggle && !toggle.checked) || document.hidden || typing()) return;
    fetch("/_page/version", { cache: "no-store", credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (answer && String(answer.version) !== seen) window.location.reload();
      })
      .catch(function () { /* the catalog is not answering: try again at the next tick */ });
  }
  window.setInterval(poll, seconds * 1000);

  document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
