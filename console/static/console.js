/* calltrail console: the little the pages do in the browser. No inline script runs
   (Content-Security-Policy script-src 'self'): everything is wired here. */
(function () {
  "use strict";

  /* Calls page: each poll asks for the calls after the newest row shown. */
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.path.indexOf("/console/calls/newer") !== 0) return;
    var first = document.querySelector("#calls-body tr[data-cursor]");
    event.detail.parameters.top = first ? first.getAttribute("data-cursor") : "0.0";
  });

  /* A fragment answered 401: the session ended; stop polling and say so. */
  document.addEventListener("htmx:responseError", function (event) {
    if (event.detail.xhr.status !== 401) return;
    document.querySelectorAll("[hx-trigger]").forEach(function (el) {
      el.removeAttribute("hx-trigger");
      if (window.htmx) window.htmx.process(el);
    });
    var live = document.getElementById("live");
    if (live) live.textContent = "Signed out: sign in again to see new calls.";
  });

  /* Call page: a mark opens its callback's details. */
  function openEntry(id) {
    var details = id && document.getElementById(id);
    if (details && details.tagName === "DETAILS") {
      details.open = true;
      details.scrollIntoView({ block: "nearest" });
      var summary = details.querySelector("summary");
      if (summary) summary.focus();
    }
  }
  document.addEventListener("click", function (event) {
    var mark = event.target.closest && event.target.closest("a.mark");
    if (mark) {
      event.preventDefault();
      history.replaceState(null, "", "#" + mark.getAttribute("data-entry"));
      openEntry(mark.getAttribute("data-entry"));
    }
    var copy = event.target.closest && event.target.closest("[data-copy]");
    if (copy) {
      event.preventDefault();
      var text = copy.getAttribute("data-copy");
      var done = function () {
        var note = document.getElementById("copied");
        if (note) note.textContent = "Permalink copied.";
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { window.prompt("Permalink", text); });
      } else {
        window.prompt("Copy the permalink", text);
      }
    }
  });

  /* Causes page: every canvas with data-chart becomes a Chart.js chart. */
  function drawCharts() {
    if (!window.Chart) return;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = JSON.parse(canvas.getAttribute("data-chart"));
      var line = spec.type === "line";
      new window.Chart(canvas, {
        type: spec.type,
        data: { labels: spec.labels, datasets: spec.datasets.map(function (d) {
          return Object.assign({ spanGaps: true, borderWidth: 2, pointRadius: 3 }, d);
        }) },
        options: {
          animation: false,
          maintainAspectRatio: false,
          skipNull: true,
          scales: line ? { y: { beginAtZero: true } }
                       : { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: "calls" } } },
          plugins: { legend: { position: "bottom" } }
        }
      });
      canvas.setAttribute("data-drawn", "true");
    });
  }

  function ready() {
    openEntry(location.hash.slice(1));
    drawCharts();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
  window.addEventListener("hashchange", function () { openEntry(location.hash.slice(1)); });
})();
