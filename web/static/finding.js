/* 石榴 Shiliu: "离我最近" on the activity list. Where the browser can tell where it is, the button
   shows; pressed, it asks for the location and opens the list again with near=latitude,longitude
   (rounded to 4 decimals, about 10 m: enough to sort by, no more than that in the address),
   keeping the search and the filters. Loaded by activities_list.html only. */
(function () {
  'use strict';

  function round(degrees) { return String(Number(degrees.toFixed(4))); }

  function nearMe(button) {
    var form = document.getElementById('activity-filters');
    var status = document.getElementById('near-status');
    button.hidden = false;
    button.addEventListener('click', function () {
      status.hidden = false;
      status.textContent = button.dataset.asking;
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(function (position) {
        var params = new URLSearchParams();
        new FormData(form).forEach(function (value, name) {
          if (value && name !== 'near') { params.append(name, value); }
        });
        params.set('near', round(position.coords.latitude) + ',' + round(position.coords.longitude));
        window.location.assign(window.location.pathname + '?' + params.toString());
      }, function () {
        status.textContent = button.dataset.denied;
        button.disabled = false;
      }, {enableHighAccuracy: false, timeout: 15000, maximumAge: 300000});
    });
  }

  function start() {
    var button = document.getElementById('near-me');
    if (button && navigator.geolocation) { nearMe(button); }
  }

  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', start); } else { start(); }
})();
