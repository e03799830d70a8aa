/* The roster's offline queue.
 *
 * Every action (a check-in or check-out button, a scanned code, "all present") gets a nonce and
 * the time it happened, waits in localStorage, and is posted to the sync endpoint in batches
 * whenever the network is there: at once, on the 'online' event and on a retry timer. The
 * server records each nonce once, so sending an action again after a lost answer is harmless.
 * Actions that need the server (walk-ins, closing, corrections) are plain forms; offline, the
 * page says so instead of leaving the roster.
 *
 * While nothing waits, the page polls the roster's state every half second, so scans made
 * elsewhere (a student's self check-in, another coordinator's phone) show at once; a student
 * new to the roster (a walk-in who checked in by themselves) reloads the page.
 */
(function () {
  "use strict";

  var root = document.getElementById("roster");
  var stringsNode = document.getElementById("roster-strings");
  if (!root || !stringsNode || !window.JSON) {
    return;
  }
  var T = JSON.parse(stringsNode.textContent);
  var KEY = "roster-queue:" + root.getAttribute("data-session");
  var SYNC_URL = root.getAttribute("data-sync-url");
  var CSRF = root.getAttribute("data-csrf");
  var STARTS = root.getAttribute("data-starts");
  var ENDS = root.getAttribute("data-ends");
  var CLOSED = root.hasAttribute("data-closed");
  var STATE_URL = root.getAttribute("data-state-url");
  var MINIMUM = parseInt(root.getAttribute("data-minimum") || "0", 10);
  var REPEAT_MS = parseInt(root.getAttribute("data-repeat") || "0", 10) * 1000;
  var POLL_MS = 500;
  var HIDDEN_POLL_MS = 10000;
  var BATCH = 200;
  var RETRY_MS = 15000;
  var TIMEOUT_MS = 20000;

  var inFlight = false;
  var flashFor = ""; // the nonce of the queued code the flash is about, if any
  var polling = false;
  var generation = 0; // bumped by each answer, so an older poll answer is dropped
  var blocked = ""; // why syncing waits for the user (signed out), shown until it works again
  var memoryQueue = []; // used only when localStorage is unavailable

  // ---------------------------------------------------------------- helpers
  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (match, name) {
      return values[name] !== undefined && values[name] !== null ? values[name] : match;
    });
  }

  function pad(value, width) {
    var text = String(value);
    while (text.length < (width || 2)) {
      text = "0" + text;
    }
    return text;
  }

  /* Now, as local ISO 8601 with milliseconds and the UTC offset: 2025-05-03T09:05:12.345+08:00 */
  function isoNow() {
    var d = new Date();
    var offset = -d.getTimezoneOffset();
    var sign = offset >= 0 ? "+" : "-";
    var abs = Math.abs(offset);
    return (
      d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) +
      "T" + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) +
      "." + pad(d.getMilliseconds(), 3) + sign + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60)
    );
  }

  function hm(iso) {
    return iso.substr(11, 5);
  }

  function newNonce() {
    var c = window.crypto || window.msCrypto;
    if (c && typeof c.randomUUID === "function") {
      return c.randomUUID();
    }
    if (c && typeof c.getRandomValues === "function") {
      var bytes = new Uint8Array(16);
      c.getRandomValues(bytes);
      return Array.prototype.map.call(bytes, function (b) { return pad(b.toString(16)); }).join("");
    }
    return "n" + Date.now().toString(36) + Math.random().toString(36).slice(2) +
      Math.random().toString(36).slice(2);
  }

  function normaliseCode(value) {
    return value.replace(/\s+/g, "").toUpperCase();
  }

  /* SHA-256 of a code, hex; null where the browser cannot (then the server matches the code). */
  function codeHash(code) {
    var subtle = window.crypto && window.crypto.subtle;
    if (!subtle || !window.TextEncoder) {
      return Promise.resolve(null);
    }
    return subtle.digest("SHA-256", new TextEncoder().encode(code)).then(function (buffer) {
      return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
        return pad(b.toString(16));
      }).join("");
    }, function () { return null; });
  }

  // ---------------------------------------------------------------- the queue
  function load() {
    try {
      var queue = JSON.parse(window.localStorage.getItem(KEY) || "[]");
      return Array.isArray(queue) ? queue : [];
    } catch (e) {
      return memoryQueue.slice();
    }
  }

  function save(queue) {
    memoryQueue = queue.slice();
    try {
      if (queue.length) {
        window.localStorage.setItem(KEY, JSON.stringify(queue));
      } else {
        window.localStorage.removeItem(KEY);
      }
    } catch (e) {
      /* storage full or disabled: the in-memory copy still syncs while the page is open */
    }
  }

  function enqueue(item) {
    item.nonce = newNonce();
    item.time = item.time || isoNow();
    var queue = load();
    queue.push(item);
    save(queue);
    render();
    sync();
    return item;
  }

  function removeSynced(nonces) {
    save(load().filter(function (item) { return nonces.indexOf(item.nonce) === -1; }));
  }

  // ---------------------------------------------------------------- the page
  var rows = {};
  Array.prototype.forEach.call(root.querySelectorAll("[data-student]"), function (el) {
    rows[el.getAttribute("data-student")] = el;
  });
  var el = {
    state: root.querySelector("[data-testid=sync-state]"),
    count: root.querySelector("[data-testid=sync-count]"),
    bar: root.querySelector("[data-testid=sync-bar]"),
    now: root.querySelector("[data-testid=sync-now]"),
    flash: root.querySelector("[data-testid=roster-flash]"),
    errors: root.querySelector("[data-testid=sync-errors]"),
    code: document.getElementById("roster-code"),
    countIn: root.querySelector("[data-count=in]"),
    countOut: root.querySelector("[data-count=out]")
  };

  function flash(message, kind, nonce) {
    flashFor = nonce || "";
    if (!el.flash) {
      return;
    }
    el.flash.textContent = message;
    el.flash.className = "roster-flash " + (kind || "");
    el.flash.hidden = false;
  }

  function showError(message) {
    if (!el.errors) {
      return;
    }
    var li = document.createElement("li");
    li.textContent = fmt(T.failed, { message: message });
    el.errors.insertBefore(li, el.errors.firstChild);
    while (el.errors.children.length > 10) {
      el.errors.removeChild(el.errors.lastChild);
    }
    el.errors.hidden = false;
  }

  /* The times a row shows: the server's, with what still waits in the queue laid over them. */
  function pendingTimes(queue) {
    var pending = {};
    queue.forEach(function (item) {
      if (item.action === "all_present") {
        Object.keys(rows).forEach(function (id) {
          if (!rows[id].getAttribute("data-in") && !(pending[id] && pending[id].in)) {
            pending[id] = { in: STARTS, out: ENDS };
          }
        });
        return;
      }
      if (!item.student) {
        return;
      }
      var p = pending[item.student] || (pending[item.student] = {});
      var at = hm(item.time);
      if (item.kind === "in" && (!p.in || at < p.in)) {
        p.in = at;
      } else if (item.kind === "out" && (!p.out || at > p.out)) {
        p.out = at;
      }
    });
    return pending;
  }

  function shown(row, pending) {
    var serverIn = row.getAttribute("data-in");
    var serverOut = row.getAttribute("data-out");
    var p = pending || {};
    var inAt = serverIn;
    var outAt = serverOut;
    var inPending = false;
    var outPending = false;
    if (p.in && (!serverIn || p.in < serverIn)) {
      inAt = p.in;
      inPending = true;
    }
    if (p.out && (!serverOut || p.out > serverOut)) {
      outAt = p.out;
      outPending = true;
    }
    return { in: inAt, out: outAt, inPending: inPending, outPending: outPending };
  }

  function isIn(id) {
    return Boolean(shown(rows[id], pendingTimes(load())[id]).in);
  }

  function setTime(node, value, isPending) {
    if (!node) {
      return;
    }
    node.textContent = value || "—";
    node.classList.toggle("pending", Boolean(isPending));
    node.title = isPending ? T.waitingMark : "";
  }

  function render() {
    var queue = load();
    var online = navigator.onLine !== false;
    var pending = pendingTimes(queue);
    root.classList.toggle("is-offline", !online);
    Object.keys(rows).forEach(function (id) {
      var row = rows[id];
      var s = shown(row, pending[id]);
      setTime(row.querySelector(".time-in"), s.in, s.inPending);
      setTime(row.querySelector(".time-out"), s.out, s.outPending);
      row.classList.toggle("is-in", Boolean(s.in && !s.out));
      row.classList.toggle("is-out", Boolean(s.in && s.out));
      row.classList.toggle("has-pending", s.inPending || s.outPending);
    });
    var checkedIn = 0;
    var checkedOut = 0;
    Object.keys(rows).forEach(function (id) {
      var s = shown(rows[id], pending[id]);
      checkedIn += s.in ? 1 : 0;
      checkedOut += s.in && s.out ? 1 : 0;
    });
    if (el.countIn) {
      el.countIn.textContent = checkedIn;
    }
    if (el.countOut) {
      el.countOut.textContent = checkedOut;
    }
    if (el.state) {
      el.state.textContent = !online ? T.offline : inFlight ? T.syncing : queue.length ? "" : T.allSynced;
    }
    if (el.count) {
      el.count.textContent = queue.length ? fmt(T.waiting, { count: queue.length }) : "";
    }
    if (el.bar) {
      el.bar.classList.toggle("offline", !online);
      el.bar.classList.toggle("waiting", queue.length > 0);
      // A closed roster records nothing more: the bar shows only while old actions wait.
      el.bar.hidden = CLOSED && !queue.length;
    }
    if (el.now) {
      el.now.hidden = !(online && queue.length && !inFlight);
    }
    if (blocked) {
      flash(blocked, "error");
    }
  }

  // ---------------------------------------------------------------- syncing
  function wire(item) {
    var out = { nonce: item.nonce, time: item.time };
    ["action", "student", "code", "kind", "via", "confirm_short"].forEach(function (name) {
      if (item[name] !== undefined) {
        out[name] = item[name];
      }
    });
    return out;
  }

  function applyAnswer(body) {
    var done = [];
    var last = "";
    var flashedError = "";
    (body.results || []).forEach(function (result) {
      if (result.status === "created" || result.status === "repeated") {
        done.push(result.nonce);
        last = result.message || last;
      } else if (result.status === "error") {
        done.push(result.nonce); // the server refused it for good: say so, do not resend
        if (flashFor && result.nonce === flashFor) {
          // The code the flash says is being checked: its answer replaces it, one message.
          flashedError = fmt(T.failed, { message: result.message || result.code });
        } else {
          showError(result.message || result.code);
        }
      }
    });
    removeSynced(done);
    applyStates(body.rows || {});
    if (flashedError) {
      flash(flashedError, "error");
    } else if (last) {
      flash(last, "ok");
    }
    return done.length > 0;
  }

  /* The server's times for every row; a student the page does not show yet reloads it. */
  function applyStates(states) {
    generation += 1;
    Object.keys(rows).forEach(function (id) {
      var state = states[id] || {};
      rows[id].setAttribute("data-in", state.in || "");
      rows[id].setAttribute("data-out", state.out || "");
      rows[id].setAttribute("data-last", state.last || "");
      var badge = rows[id].querySelector("[data-testid=self-badge]");
      if (badge) {
        badge.hidden = !state.self;
      }
    });
    var newcomer = Object.keys(states).some(function (id) { return !rows[id]; });
    if (newcomer && !load().length && !root.querySelector("details[open]")) {
      window.location.reload();
    }
  }

  function poll() {
    if (CLOSED || polling || inFlight || navigator.onLine === false || blocked || load().length) {
      return;
    }
    polling = true;
    var started = generation;
    fetch(STATE_URL, {
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-Requested-With": "XMLHttpRequest" }
    }).then(function (response) {
      var isJson = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      return response.ok && isJson ? response.json() : null;
    }).then(function (body) {
      if (body && started === generation && !inFlight && !load().length) {
        applyStates(body.rows || {});
        render();
      }
    }).catch(function () {
      /* offline or a timeout: the next poll tries again */
    }).then(function () {
      polling = false;
    });
  }

  function pollLoop() {
    poll();
    window.setTimeout(pollLoop, document.hidden ? HIDDEN_POLL_MS : POLL_MS);
  }

  function toMinutes(hhmm) {
    var parts = (hhmm || "").split(":");
    return parts.length === 2 ? Number(parts[0]) * 60 + Number(parts[1]) : NaN;
  }

  /* Minutes from the session's start to a clock time (HH:MM), for a session that may run past
   * midnight: a time more than 12 hours before the start is one of the next day. */
  function sinceStart(hhmm) {
    var minutes = toMinutes(hhmm) - toMinutes(STARTS);
    return minutes < -720 ? minutes + 1440 : minutes;
  }

  /* Minutes a check-out now would credit, from the row's check-in time (NaN if unknown). */
  function creditedNow(id) {
    var s = shown(rows[id], pendingTimes(load())[id]);
    var start = Math.max(sinceStart(s.in), 0);
    var end = Math.min(sinceStart(hm(isoNow())), sinceStart(ENDS));
    return Math.max(0, end - start);
  }

  /* When this student was last scanned, as far as the page knows (ms since the epoch). */
  function lastScan(id) {
    var last = Date.parse(rows[id].getAttribute("data-last") || "") || 0;
    load().forEach(function (item) {
      if (String(item.student) === String(id)) {
        last = Math.max(last, Date.parse(item.time) || 0);
      }
    });
    return last;
  }

  /* A check-out crediting less than the policy's minimum is recorded only when confirmed:
   * null to drop it, else the extra fields of the queued item. A double scan (within the
   * repeat interval) is not asked about: the server answers that it is already recorded. */
  function confirmShort(id) {
    if (Date.now() - lastScan(id) < REPEAT_MS) {
      return {};
    }
    var minutes = creditedNow(id);
    if (isNaN(minutes) || minutes >= MINIMUM) {
      return {};
    }
    var row = rows[id];
    var question = fmt(T.shortConfirm, {
      name: row.getAttribute("data-name"),
      time: shown(row, pendingTimes(load())[id]).in,
      minimum: MINIMUM
    });
    return window.confirm(question) ? { confirm_short: true } : null;
  }

  function sync() {
    if (inFlight || navigator.onLine === false || blocked) {
      render();
      return;
    }
    var queue = load();
    if (!queue.length) {
      render();
      return;
    }
    inFlight = true;
    render();
    var batch = queue.slice(0, BATCH);
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    var progressed = false;
    fetch(SYNC_URL, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": CSRF,
        "X-Requested-With": "XMLHttpRequest"
      },
      body: JSON.stringify({ items: batch.map(wire) }),
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      var isJson = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (response.ok && isJson) {
        return response.json().then(function (body) { progressed = applyAnswer(body); });
      }
      if (response.status === 401 || response.status === 403) {
        blocked = T.signIn; // signed out or the CSRF token expired: keep everything
      }
      return null; // 5xx and the rest: try again later
    }).catch(function () {
      /* no network or a timeout: the queue stays and the timer tries again */
    }).then(function () {
      if (timer) {
        clearTimeout(timer);
      }
      inFlight = false;
      render();
      if (progressed && load().length) {
        sync();
      }
    });
  }

  // ---------------------------------------------------------------- actions
  function recordScan(studentId, kind, via) {
    var row = rows[studentId];
    var extra = kind === "out" ? confirmShort(studentId) : {};
    if (extra === null) {
      return;
    }
    var item = enqueue({
      student: Number(studentId), kind: kind, via: via, confirm_short: extra.confirm_short
    });
    var name = row ? row.getAttribute("data-name") : "";
    flash(fmt(kind === "in" ? T.checkedIn : T.checkedOut, { name: name, time: hm(item.time) }), "ok");
  }

  function recordCode(form) {
    var input = form.querySelector("input[name=code]");
    var code = normaliseCode(input.value);
    input.value = "";
    input.focus();
    if (!code) {
      flash(T.enterCode, "error");
      return;
    }
    var time = isoNow(); // when it was scanned, not when the hash is ready
    codeHash(code).then(function (hash) {
      var match = null;
      if (hash) {
        Object.keys(rows).forEach(function (id) {
          if (rows[id].getAttribute("data-code-hash") === hash) {
            match = id;
          }
        });
      }
      if (match) {
        var kind = isIn(match) ? "out" : "in";
        var extra = kind === "out" ? confirmShort(match) : {};
        if (extra === null) {
          return;
        }
        var item = enqueue({
          student: Number(match), kind: kind, via: "scan", time: time,
          confirm_short: extra.confirm_short
        });
        var name = rows[match].getAttribute("data-name");
        flash(fmt(kind === "in" ? T.checkedIn : T.checkedOut, { name: name, time: hm(item.time) }), "ok");
      } else {
        var queued = enqueue({ code: code, kind: "auto", via: "scan", time: time });
        // Tied to the code's nonce: the server's answer replaces this message, not adds one.
        flash(fmt(T.codeKept, { code: code }), "", queued.nonce);
      }
    });
  }

  root.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented) {
      return; // e.g. a confirm() answered No
    }
    var mode = form.getAttribute("data-queue");
    if (mode) {
      event.preventDefault();
      if (mode === "in" || mode === "out") {
        recordScan(form.querySelector("input[name=student]").value, mode, "roster");
      } else if (mode === "code") {
        recordCode(form);
      } else if (mode === "all-present") {
        if (window.confirm(T.allPresentConfirm)) {
          enqueue({ action: "all_present" });
          flash(T.allPresentQueued, "ok");
        }
      }
      return;
    }
    if (form.hasAttribute("data-online")) {
      if (navigator.onLine === false) {
        event.preventDefault();
        flash(T.needsNetwork, "error");
      } else if (form.hasAttribute("data-close") && load().length) {
        event.preventDefault();
        flash(T.syncFirst, "error");
        sync();
      }
    }
  });

  if (el.now) {
    el.now.addEventListener("click", function () {
      blocked = "";
      sync();
    });
  }
  window.addEventListener("online", function () {
    blocked = "";
    sync();
  });
  window.addEventListener("offline", render);
  window.addEventListener("storage", function (event) {
    if (event.key === KEY) {
      render();
    }
  });
  window.setInterval(sync, RETRY_MS);

  // A barcode scanner types into the focused field: keep the code field ready on a desk.
  if (el.code && window.matchMedia && window.matchMedia("(pointer: fine)").matches) {
    el.code.focus();
  }
  render();
  root.setAttribute("data-ready", "");
  sync();
  if (STATE_URL && !CLOSED) {
    window.setTimeout(pollLoop, POLL_MS);
  }
})();
