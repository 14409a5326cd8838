/* scans/index.html: moved out of the page so the CSP allows no inline script */
(function () {
  var form = document.getElementById('upload');
  form.addEventListener('submit', function (event) {
    if (!window.FormData || !form.querySelector('input[type=file]').files.length) return;
    event.preventDefault();
    var box = document.getElementById('sending'), bar = document.getElementById('sent'),
        status = document.getElementById('sending-status');
    box.hidden = false;
    form.querySelector('button').disabled = true;
    var xhr = new XMLHttpRequest();
    xhr.open('POST', form.action || window.location.href);
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round(100 * e.loaded / e.total);
        status.textContent = Math.round(e.loaded / 1048576) + ' of ' + Math.round(e.total / 1048576) + ' MB sent';
      }
    };
    xhr.onload = function () {
      if (xhr.status < 400 && xhr.responseURL) { window.location.href = xhr.responseURL; }
      else { document.open(); document.write(xhr.responseText); document.close(); }
    };
    xhr.onerror = function () {
      status.textContent = 'The upload failed: check the connection and try again. Nothing was lost.';
      form.querySelector('button').disabled = false;
    };
    xhr.send(new FormData(form));
  });
})();
