// The IVR statistics page's charts, drawn by the vendored Chart.js from the page's JSON block
// (#statistics-data, written by daemon/console/pages/ivr_statistics.py). No inline script: the
// console's Content-Security-Policy allows scripts from its own static folder only.
"use strict";

(function () {
  const source = document.getElementById("statistics-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  const blue = "#2f6fb3";
  const grey = "#9aa5b1";
  const palette = ["#2e8540", "#d9822b", "#c23030", "#6b5b95", "#2f6fb3", "#9aa5b1"];
  const whole = { y: { beginAtZero: true, ticks: { precision: 0 } } };
  const drawn = {};

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (canvas) {
      drawn[id] = new Chart(canvas, config);
    }
  }

  draw("chart-daily", {
    type: "bar",
    data: {
      labels: data.days,
      datasets: [
        { label: data.words.calls, data: data.calls, backgroundColor: blue },
        { label: data.words.blocked, data: data.blocked, backgroundColor: grey },
      ],
    },
    options: { responsive: true, maintainAspectRatio: false, animation: false, scales: whole },
  });
  draw("chart-hourly", {
    type: "bar",
    data: { labels: data.hours, datasets: [{ label: data.words.calls, data: data.hourly, backgroundColor: blue }] },
    options: { responsive: true, maintainAspectRatio: false, animation: false, scales: whole },
  });
  draw("chart-forwards", {
    type: "doughnut",
    data: {
      labels: Object.keys(data.forwards),
      datasets: [{ data: Object.values(data.forwards), backgroundColor: palette }],
    },
    options: { responsive: true, maintainAspectRatio: false, animation: false },
  });
  draw("chart-choices", {
    type: "bar",
    data: {
      labels: Object.keys(data.choices),
      datasets: [{ label: "回数", data: Object.values(data.choices), backgroundColor: palette[0] }],
    },
    options: { indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false, scales: { x: whole.y } },
  });
  window.calldCharts = drawn; // for the browser tests: which charts were drawn
})();
