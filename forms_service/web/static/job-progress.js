/* scans/job.html: moved out of the page so the CSP allows no inline script */
(function () {
  var box = document.getElementById('progress');
  if (box.dataset.state === 'done' || box.dataset.state === 'failed') return;
  var bar = document.getElementById('bar'), status = document.getElementById('status');
  function poll() {
    fetch(box.dataset.statusUrl, {credentials: 'same-origin'}).then(function (r) { return r.json(); }).then(function (s) {
      bar.max = Math.max(s.total, 1); bar.value = s.done;
      if (s.state === 'done' || s.state === 'failed') { window.location.reload(); return; }
      status.textContent = s.done + ' of ' + s.total + ' pages read…';
      setTimeout(poll, 1000);
    }).catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
