(function () {
  "use strict";
  var chart = document.getElementById("reciprocity-chart");
  var bars = chart ? chart.querySelectorAll("rect[data-series]") : [];
  var whole = bars.length > 0;
  for (var i = 0; i < bars.length; i++) {
    if (!/^[0-9]+$/.test(bars[i].getAttribute("data-count") || "")) whole = false;
  }
  if (whole) {
    document.documentElement.setAttribute("data-ready", "1");
  } else {
    console.error("tapin report: the reciprocity chart is incomplete");
  }
})();
