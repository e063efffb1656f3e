// The 发现 tab: share a position on a tap (never asked on load), send filters on change, and
// draw the listed stores on a map when the map view is open. The list is the page: without
// JavaScript, without a position and without map tiles it works the same.
(function () {
  "use strict";
  var form = document.querySelector("form.finder");
  var locate = document.querySelector("[data-locate]");
  if (form && locate && "geolocation" in navigator) {
    locate.hidden = false;
    var why = document.querySelector("[data-locate-why]");
    if (why) why.hidden = false;
    locate.addEventListener("click", function () {
      locate.disabled = true;
      navigator.geolocation.getCurrentPosition(function (pos) {
        var params = new URLSearchParams(new FormData(form));
        params.delete("district");
        params.set("lat", pos.coords.latitude.toFixed(5));
        params.set("lng", pos.coords.longitude.toFixed(5));
        location.assign("/?" + params.toString());
      }, function () {
        locate.disabled = false;
        var note = document.createElement("p");
        note.className = "notice";
        note.setAttribute("role", "status");
        note.textContent = locate.dataset.denied;
        locate.parentNode.appendChild(note);
      }, {timeout: 10000, maximumAge: 60000});
    });
  }
  document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { form.submit(); });
  });

  var box = document.getElementById("map");
  if (!box) return;
  function offline() {
    var note = document.querySelector("[data-map-offline]");
    if (note && note.hidden) { note.textContent = box.dataset.offline; note.hidden = false; }
  }
  window.addEventListener("load", function () {
    if (!window.L) { offline(); box.hidden = true; return; }
    var c = box.dataset.center.split(",").map(Number);
    var map = L.map(box, {scrollWheelZoom: false}).setView(c, 14);
    var failed = 0;
    L.tileLayer(box.dataset.tiles, {maxZoom: 19, attribution: box.dataset.attribution})
      .on("tileerror", function () { failed += 1; if (failed >= 3) offline(); })
      .addTo(map);
    map.attributionControl.addAttribution(
      '<a href="https://www.openstreetmap.org/copyright">ODbL</a>');
    L.circle(c, {radius: Number(box.dataset.radius), weight: 1, fill: false}).addTo(map);
    var bounds = [c];
    document.querySelectorAll("[data-store]").forEach(function (li) {
      var at = [Number(li.dataset.lat), Number(li.dataset.lng)];
      var link = li.querySelector("a");
      var name = li.querySelector(".name").textContent;
      var deal = li.querySelector(".deal").textContent;
      var marker = L.circleMarker(at, {
        radius: 8, weight: 2, color: li.dataset.curated === "yes" ? "#e4002b" : "#555",
        fillOpacity: 0.8
      }).addTo(map);
      var popup = document.createElement("a");
      popup.href = link.getAttribute("href");
      popup.textContent = name + " · " + deal;
      marker.bindPopup(popup);
      bounds.push(at);
    });
    if (bounds.length > 1) map.fitBounds(bounds, {padding: [24, 24], maxZoom: 16});
  });
})();
