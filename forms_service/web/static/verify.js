/* Keyboard for the verification screens (grid and single field). Without it the radio buttons,
   boxes and buttons still work; with it a screen with nothing to change costs one key (Enter). */
(function () {
  "use strict";

  function csrf(form) {
    var input = form.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  /* Keep the fields on screen held while the person works: renew the leases at half their length. */
  function keepHolding(form, ids) {
    var seconds = parseInt(form.dataset.leaseSeconds || "120", 10);
    return setInterval(function () {
      var body = new URLSearchParams();
      body.append("csrf_token", csrf(form));
      (typeof ids === "function" ? ids() : ids).forEach(function (id) { body.append("ids", id); });
      fetch(form.dataset.renewUrl, { method: "POST", body: body, credentials: "same-origin" });
    }, Math.max(10, seconds / 2) * 1000);
  }

  /* A screen left without an answer (tab closed, link followed) gives its fields back at once. */
  function giveBackOnLeave(form, ids) {
    window.addEventListener("pagehide", function () {
      if (form.dataset.sent || !navigator.sendBeacon) { return; }
      var body = new FormData();
      body.append("csrf_token", csrf(form));
      ids.forEach(function (id) { body.append("ids", id); });
      navigator.sendBeacon(form.dataset.releaseUrl, body);
    });
  }

  function submit(form, button) {
    if (form.dataset.sent) { return; }  // a second Enter while the first is on its way
    form.dataset.sent = "1";
    if (form.requestSubmit) { form.requestSubmit(button || undefined); } else { form.submit(); }
  }

  function digit(event) {
    return /^[0-9]$/.test(event.key) && !event.ctrlKey && !event.altKey && !event.metaKey ? parseInt(event.key, 10) : null;
  }

  /* -- the grid: arrows move, Space/number/0 change the focused tile, C cannot tell, Enter confirms -- */
  var grid = document.getElementById("grid");
  if (grid) {
    var tiles = Array.prototype.slice.call(grid.querySelectorAll(".tile"));
    var multi = grid.dataset.kind === "multi_choice";
    var at = 0;
    var initial = tiles.map(function (t) { return state(t); });

    function choices(tile) {
      return Array.prototype.slice.call(tile.querySelectorAll(".choices input:not([name^=cannot])"));
    }
    function state(tile) {
      return choices(tile).map(function (i) { return i.checked ? "1" : "0"; }).join("");
    }
    function mark(tile) {
      var i = tiles.indexOf(tile);
      tile.classList.toggle("changed", state(tile) !== initial[i]);
      tile.classList.toggle("unsure", tile.querySelector("input[name^=cannot]").checked);
    }
    function told(tile) {  // choosing an answer says the person can tell
      tile.querySelector("input[name^=cannot]").checked = false;
    }
    function columns() {
      if (tiles.length < 2) { return 1; }
      var top = tiles[0].getBoundingClientRect().top, n = 0;
      tiles.forEach(function (t) { if (Math.abs(t.getBoundingClientRect().top - top) < 2) { n += 1; } });
      return Math.max(1, n);
    }
    function go(i) {
      if (i < 0 || i >= tiles.length) { return; }
      tiles[at].tabIndex = -1;
      at = i;
      tiles[at].tabIndex = 0;
      tiles[at].focus();
    }
    tiles.forEach(function (tile, i) {
      tile.addEventListener("focus", function () { at = i; });
      tile.addEventListener("change", function (event) {
        if (!/^cannot/.test(event.target.name)) { told(tile); }
        mark(tile);
      });
    });
    grid.addEventListener("keydown", function (event) {
      var tile = tiles[at], boxes = choices(tile), n = digit(event);
      if (event.key === "ArrowRight") { go(at + 1); }
      else if (event.key === "ArrowLeft") { go(at - 1); }
      else if (event.key === "ArrowDown") { go(Math.min(tiles.length - 1, at + columns())); }
      else if (event.key === "ArrowUp") { go(Math.max(0, at - columns())); }
      else if (event.key === " " && !multi) {
        var k = boxes.findIndex(function (b) { return b.checked; });
        boxes[(k + 1) % boxes.length].checked = true;
        told(tile);
      }
      else if (n !== null) {
        if (multi) {
          if (n === 0) { boxes.forEach(function (b) { b.checked = false; }); }
          else if (n <= boxes.length) { boxes[n - 1].checked = !boxes[n - 1].checked; }
        } else if (n < boxes.length) { boxes[n].checked = true; }  // radio 0 is "none"
        told(tile);
      }
      else if (event.key === "c" || event.key === "C") {
        var c = tile.querySelector("input[name^=cannot]");
        c.checked = !c.checked;
      }
      else if (event.key === "Enter") { submit(grid); }
      else { return; }
      event.preventDefault();
      mark(tile);
    });
    keepHolding(grid, tiles.map(function (t) { return t.dataset.id; }));
    giveBackOnLeave(grid, tiles.map(function (t) { return t.dataset.id; }));
    grid.addEventListener("submit", function () { grid.dataset.sent = "1"; });
    if (tiles.length) { tiles[0].focus(); }
  }

  /* -- a single field: number keys tick, Enter saves, Esc skips, Ctrl+I illegible, Ctrl+M flag --
     The next field (with its picture, inline) is fetched while the person works on this one; saving
     shows it at once and sends the answer in the background, so no key waits on the network. */
  var current = null, timer = null;

  function nextId(html) {
    var m = html && /id="field"[^>]*data-id="(\d+)"/.exec(html);
    return m ? m[1] : null;
  }

  function say(message, ok) {
    var status = document.getElementById("verify-status");
    if (!status) { return; }
    status.textContent = message;
    status.className = ok ? "flash flash-success" : "flash flash-error";
  }

  /* Fetch the screen after this one once ``before`` (the previous answer on its way) has settled. */
  function prefetch(field, before) {
    field.next = before.then(function () {
      return fetch(field.dataset.nextUrl, { credentials: "same-origin", headers: { "X-Requested-With": "prefetch" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .catch(function () { return null; });
    }).then(function (html) { field.nextId = nextId(html); return html; });
  }

  function show(html, post) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var main = document.getElementById("main");
    main.innerHTML = fresh.getElementById("main").innerHTML;
    document.title = fresh.title;
    var form = document.getElementById("field");
    if (form) { history.replaceState(null, "", form.dataset.url); setupField(form, post); }
    else { main.focus(); }
    post.then(function (res) {
      if (!res.ok) { say("Your answer to the last field was not saved: " + res.message, false); }
      else if (form) { say(res.message, true); }
    });
  }

  function send(field, button) {
    if (field.dataset.sent) { return; }  // a second key while the first is on its way
    field.dataset.sent = "1";
    var action = button ? button.value : "save";
    if (!field.next || ["back", "stop"].indexOf(action) >= 0) {
      (field.before || Promise.resolve()).then(function () {  // "back" needs the last answer saved
        setTimeout(function () {  // outside any submit event being dispatched, which would swallow it
          if (field.requestSubmit) { field.requestSubmit(button || undefined); } else { field.submit(); }
        }, 0);
      });
      return;
    }
    var body = new FormData(field);
    body.append("action", action);
    var post = fetch(field.getAttribute("action"), { method: "POST", body: body, credentials: "same-origin",
                                     headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, message: j.message }; }); })
      .catch(function () { return { ok: false, message: "it could not be sent (the connection failed)." }; });
    field.next.then(function (html) {
      if (html) { show(html, post); }
      else { post.then(function () { window.location.assign(field.dataset.url); }); }
    });
  }

  function setupField(field, before) {
    current = field;
    field.before = before;
    var text = field.querySelector("textarea");
    var note = field.querySelector("#flag_note");
    function button(action) { return field.querySelector("button[value=" + action + "]"); }
    var context = field.querySelector("details.context");
    if (context) {  /* the whole page is drawn only when asked for */
      context.addEventListener("toggle", function () {
        var img = context.querySelector("img");
        if (context.open && !img.getAttribute("src")) { img.setAttribute("src", context.dataset.src); }
      });
    }
    field.addEventListener("keydown", function (event) {
      var n = digit(event);
      if (event.key === "Escape") { send(field, button("skip")); }
      else if (event.ctrlKey && (event.key === "i" || event.key === "I") && button("illegible")) { send(field, button("illegible")); }
      else if (event.ctrlKey && (event.key === "m" || event.key === "M") && note) {
        if (document.activeElement === note) { send(field, button("flag")); }
        else { note.focus(); }
      }
      else if (event.ctrlKey && (event.key === "k" || event.key === "K") && context) {
        context.open = !context.open;  // the focus stays where the person is typing
      }
      else if (event.key === "Enter" && event.shiftKey) { send(field, button("back")); }
      else if (event.key === "Enter") {
        send(field, document.activeElement === note && note.value.trim() ? button("flag") : button("save"));
      }
      else if (n !== null && !text) {
        var boxes = Array.prototype.slice.call(field.querySelectorAll("fieldset input"));
        if (boxes.length && boxes[0].type === "checkbox") {
          if (n === 0) { boxes.forEach(function (b) { b.checked = false; }); }
          else if (n <= boxes.length) { boxes[n - 1].checked = !boxes[n - 1].checked; }
        } else if (n < boxes.length) { boxes[n].checked = true; boxes[n].focus(); }
      }
      else { return; }
      event.preventDefault();
    });
    field.addEventListener("submit", function (event) {  // a button clicked with the mouse
      if (field.dataset.sent) { return; }
      event.preventDefault();
      send(field, event.submitter);
    });
    if (timer) { clearInterval(timer); }
    timer = keepHolding(field, function () { return [field.dataset.id, field.nextId].filter(Boolean); });
    prefetch(field, before);
    if (text) { text.focus(); text.setSelectionRange(text.value.length, text.value.length); }
    else {
      var chosen = field.querySelector("fieldset input:checked") || field.querySelector("fieldset input");
      if (chosen) { chosen.focus(); }
    }
  }

  var field = document.getElementById("field");
  if (field) {
    setupField(field, Promise.resolve());
    /* Leaving: give back the field on screen (unless answered) and the one fetched ahead. */
    window.addEventListener("pagehide", function () {
      var ids = [current.dataset.sent ? null : current.dataset.id, current.nextId].filter(Boolean);
      if (!ids.length || !navigator.sendBeacon) { return; }
      var body = new FormData();
      body.append("csrf_token", csrf(current));
      ids.forEach(function (id) { body.append("ids", id); });
      navigator.sendBeacon(current.dataset.releaseUrl, body);
    });
  }
})();
