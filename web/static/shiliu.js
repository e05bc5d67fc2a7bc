/* 石榴 Shiliu: the pages' only script. The Content-Security-Policy allows no inline script or
   handler, so what pages do by script is here, found by ids and data- attributes. */
(function () {
  'use strict';

  /* A form with data-confirm asks before it is sent. */
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  /* The check-in page: the pressed button says check in or out; where the activity has a
     radius, the browser's location goes with a check-in. */
  function checkin(form) {
    var sending = false;
    form.addEventListener('submit', function (event) {
      var button = event.submitter;
      if (button && button.dataset.action) { document.getElementById('action').value = button.dataset.action; }
      if (sending || form.dataset.needsLocation !== 'yes' || document.getElementById('action').value !== 'checkin' || !navigator.geolocation) { return; }
      event.preventDefault();
      sending = true;
      navigator.geolocation.getCurrentPosition(function (position) {
        document.getElementById('latitude').value = position.coords.latitude;
        document.getElementById('longitude').value = position.coords.longitude;
        form.submit();
      }, function () { form.submit(); }, {enableHighAccuracy: true, timeout: 10000, maximumAge: 60000});
    });
  }

  /* The organizer's live code screen: a new code (and QR) every step, the seconds left shown. */
  function live(box) {
    var expires = new Date(document.getElementById('expires').dataset.expires);
    var seconds = box.dataset.seconds || '{n} s';  /* "{n} 秒" on the Chinese page */
    function tick() {
      var left = Math.max(0, Math.round((expires - new Date()) / 1000));
      document.getElementById('expires').textContent = seconds.replace('{n}', left);
    }
    function refresh() {
      fetch(box.dataset.source, {credentials: 'same-origin', cache: 'no-store'})
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (shown) {
          /* Check-in opened or closed since the screen was drawn: draw it again, warning and all. */
          if ((shown.window || 'open') !== box.dataset.window) { window.location.reload(); return; }
          document.getElementById('code').textContent = shown.code;
          document.getElementById('qr').innerHTML = shown.qr_svg;
          expires = new Date(shown.expires_at);
          document.getElementById('stale').hidden = true;
          schedule();
        })
        .catch(function () { document.getElementById('stale').hidden = false; setTimeout(refresh, 3000); });
    }
    function schedule() { setTimeout(refresh, Math.max(1000, expires - new Date() + 300)); }
    setInterval(tick, 1000); tick(); schedule();
  }

  /* The interactive API page (Swagger UI), configured from its data-config attribute. */
  function apiDocs(box) {
    var config = JSON.parse(box.dataset.config);
    config.presets = [window.SwaggerUIBundle.presets.apis, window.SwaggerUIStandalonePreset];
    config.plugins = [window.SwaggerUIBundle.plugins.DownloadUrl];
    window.ui = window.SwaggerUIBundle(config);
  }

  function start() {
    var form = document.getElementById('checkin-form');
    if (form) { checkin(form); }
    var box = document.getElementById('live');
    if (box && box.dataset.source) { live(box); }
    var docs = document.getElementById('swagger-ui');
    if (docs && docs.dataset.config && window.SwaggerUIBundle) { apiDocs(docs); }
  }

  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', start); } else { start(); }
})();
