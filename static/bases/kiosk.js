/* The check-in screen: shows the session's rotating code and fetches the next one as each
 * 30-second step ends (and the counts every few seconds). Nothing here names a student. */
(function () {
  "use strict";

  var root = document.getElementById("kiosk");
  var stringsNode = document.getElementById("kiosk-strings");
  if (!root || !stringsNode || !window.JSON || !window.fetch) {
    return;
  }
  var T = JSON.parse(stringsNode.textContent);
  var URL = root.getAttribute("data-code-url");
  var COUNTS_MS = 5000;
  var el = {
    open: root.querySelector("[data-testid=kiosk-open]"),
    closed: root.querySelector("[data-testid=kiosk-closed]"),
    qr: root.querySelector("[data-testid=kiosk-qr]"),
    code: root.querySelector("[data-testid=kiosk-code]"),
    left: root.querySelector("[data-testid=kiosk-left]"),
    offline: root.querySelector("[data-testid=kiosk-offline]"),
    countIn: root.querySelector("[data-count=in]"),
    countOut: root.querySelector("[data-count=out]")
  };
  var changesAt = 0; // when the code shown changes, by this device's clock
  var timer = null;

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (match, name) {
      return values[name] !== undefined ? values[name] : match;
    });
  }

  function tick() {
    var left = Math.max(0, Math.ceil((changesAt - Date.now()) / 1000));
    if (el.left) {
      el.left.textContent = fmt(T.changesIn, { seconds: left });
    }
  }

  function show(state) {
    el.open.hidden = !state.open;
    el.closed.hidden = Boolean(state.open);
    if (state.open) {
      if (el.qr.getAttribute("src") !== state.qr) {
        el.qr.setAttribute("src", state.qr);
      }
      el.code.textContent = state.code;
    } else {
      el.closed.textContent = state.message || "";
    }
    el.countIn.textContent = state.counts["in"];
    el.countOut.textContent = state.counts.out;
    changesAt = Date.now() + state.seconds_left * 1000;
    root.setAttribute("data-code", state.open ? state.code : "");
    tick();
  }

  function schedule() {
    var untilChange = Math.max(0, changesAt - Date.now()) + 150;
    clearTimeout(timer);
    timer = setTimeout(refresh, Math.min(untilChange, COUNTS_MS));
  }

  function refresh() {
    fetch(URL, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (state) {
        el.offline.hidden = true;
        show(state);
      }, function () {
        el.offline.textContent = T.offline;
        el.offline.hidden = false;
      })
      .then(schedule);
  }

  var left = parseInt((el.left.textContent.match(/\d+/) || ["0"])[0], 10);
  changesAt = Date.now() + left * 1000;
  root.setAttribute("data-code", el.code.textContent);
  window.setInterval(tick, 1000);
  root.setAttribute("data-ready", "");
  schedule();
})();
