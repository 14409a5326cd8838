/* Keys for the moderator's screen. Without script every action is still a button. */
(function () {
  "use strict";
  var form = document.getElementById("moderate");
  if (!form) { return; }
  function press(action) {
    var button = form.querySelector("button[value=" + action + "]");
    if (button && !form.dataset.sent) { form.dataset.sent = "1"; form.requestSubmit(button); }
  }
  function open(id, focus) {
    var box = document.getElementById(id);
    box.open = true;
    var field = box.querySelector(focus);
    if (field) { field.focus(); }
  }
  document.addEventListener("keydown", function (event) {
    var typing = /^(TEXTAREA|INPUT|SELECT)$/.test(document.activeElement.tagName) &&
      document.activeElement.type !== "checkbox";
    if (event.key === "Escape") { press("skip"); event.preventDefault(); return; }
    if (typing) {
      if (event.key === "Enter" && document.activeElement.id === "reason") { press("withhold"); event.preventDefault(); }
      return;
    }
    if (event.ctrlKey || event.altKey || event.metaKey) { return; }
    var key = event.key.toLowerCase(), n = /^[1-9]$/.test(event.key) ? parseInt(event.key, 10) : null;
    if (n !== null) {
      var box = form.querySelector("input[name=finding][value='" + n + "']");
      if (box) { box.checked = !box.checked; box.focus(); }
    }
    else if (key === "x") { press("redact"); }
    else if (key === "r") { press("release"); }
    else if (key === "e") { open("edit-box", "textarea"); }
    else if (key === "s") { open("split-box", "textarea"); }
    else if (key === "m") { open("move-box", "select"); }
    else if (key === "w") { open("withhold-box", "input"); }
    else { return; }
    event.preventDefault();
  });
  form.addEventListener("submit", function () { form.dataset.sent = "1"; });
  /* keep the answer held while the moderator reads and edits: renew at half the lease */
  var seconds = parseInt(form.dataset.leaseSeconds || "300", 10);
  setInterval(function () {
    var body = new URLSearchParams();
    body.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
    body.append("ids", form.dataset.id);
    fetch(form.dataset.renewUrl, { method: "POST", body: body, credentials: "same-origin" });
  }, Math.max(10, seconds / 2) * 1000);
  var first = form.querySelector("button[value=release]");
  if (first) { first.focus(); }
})();
