// The job page follows its job: every second it reads /jobs/ID/status (JSON, this server only) and updates the
// phase, the progress bars and the library's own bars inside the step; when the job is done it opens the release.
// Without JavaScript the page refreshes itself (a <noscript> refresh) and has a Refresh link.
"use strict";
(function () {
  var box = document.getElementById("job");
  if (!box) { return; }
  var url = box.getAttribute("data-status");
  var state = document.getElementById("job-state");
  var overall = document.getElementById("job-progress");
  var bars = document.getElementById("job-bars");

  function describe(bar) {
    var text = bar.desc;
    if (bar.total) { text += ": " + Math.round(bar.n) + " of " + Math.round(bar.total) + " " + bar.unit; }
    if (bar.postfix) { text += " (" + bar.postfix + ")"; }
    text += ", " + Math.round(bar.elapsed) + " s";
    if (bar.remaining !== null && bar.remaining !== undefined) {
      text += ", about " + Math.round(bar.remaining) + " s left";
    }
    return text;
  }

  function show(job) {
    state.textContent = job.state + ": " + job.phase;
    state.className = "state-" + job.state;
    overall.value = job.fraction;
    // every open bar of the library, outermost first (a fit's rounds and a bar nested in them)
    var boxes = [];
    (job.bars || []).forEach(function (bar) {
      var div = document.createElement("div");
      div.className = "job-bar";
      var text = document.createElement("p");
      text.className = "hint";
      text.textContent = describe(bar);
      var meter = document.createElement("progress");
      if (bar.total) {  // otherwise indeterminate: a step nobody can count
        meter.max = bar.total;
        meter.value = bar.n;
      }
      div.appendChild(text);
      div.appendChild(meter);
      boxes.push(div);
    });
    bars.replaceChildren.apply(bars, boxes);
  }

  function poll() {
    fetch(url, {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) { return; }
        show(job);
        if (job.finished) {
          window.location.assign(box.getAttribute("data-status").replace(/\/status$/, ""));
          return;
        }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 500);
})();
