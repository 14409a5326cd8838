/* printing/run.html: moved out of the page so the CSP allows no inline script */
(function () {
  var box = document.getElementById('progress');
  var state = box.dataset.state;
  if (state === 'done' || state === 'failed') return;
  var bar = document.getElementById('bar'), status = document.getElementById('status');
  function poll() {
    fetch(box.dataset.statusUrl, {credentials: 'same-origin'}).then(function (r) { return r.json(); }).then(function (s) {
      bar.value = s.copies_done;
      if (s.state === 'done') {
        status.textContent = 'Ready: ' + s.copies + ' copies drawn.';
        document.getElementById('download').hidden = false;
      } else if (s.state === 'failed') {
        status.textContent = 'This print run failed: ' + s.error;
      } else {
        status.textContent = s.copies_done + ' of ' + s.copies + ' copies drawn…';
        setTimeout(poll, 1000);
      }
    }).catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
