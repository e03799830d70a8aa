// Follows a running export batch: polls its JSON status and moves the progress bar; once the
// batch is done or failed, reloads the page, which then shows the download or the error.
(function () {
  "use strict";
  var box = document.querySelector("[data-batch-status-url]");
  if (!box || box.getAttribute("data-finished") === "true") {
    return;
  }
  var url = box.getAttribute("data-batch-status-url");
  var bar = box.querySelector("[data-role=bar]");
  var label = box.querySelector("[data-role=label]");
  var meter = box.querySelector("[role=progressbar]");
  var badge = box.querySelector("[data-testid=batch-status]");
  var stale = box.querySelector("[data-role=stale]");
  var unclaimed = box.querySelector("[data-role=unclaimed]");

  function show(data) {
    bar.style.width = data.percent + "%";
    meter.setAttribute("aria-valuenow", String(data.percent));
    label.textContent = data.label;
    if (badge) {
      badge.textContent = data.status_label;
    }
    if (stale) {
      // A silent worker: say that the batch is being resumed rather than show a frozen bar.
      stale.hidden = !data.stale;
    }
    if (unclaimed) {
      // No worker has taken the batch: say so and what to do, instead of an empty bar.
      unclaimed.hidden = !data.unclaimed;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        show(data);
        if (data.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, 1000);
})();
