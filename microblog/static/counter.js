// Characters left in a post, shown under each textarea[data-max-chars] as people type.
// Counted as the server counts (code points of the trimmed, composed text without control
// characters), so both agree; without this script the server's limit holds all the same.
(function () {
  "use strict";

  var IGNORED = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

  function length(value) {
    var text = value.replace(/\r\n?/g, "\n").normalize("NFC").replace(IGNORED, "").trim();
    return Array.from(text).length;
  }

  function said(left) {
    if (left >= 0) {
      return left + (left === 1 ? " character left" : " characters left");
    }
    return -left + (left === -1 ? " character too many" : " characters too many");
  }

  function attach(field) {
    var max = parseInt(field.getAttribute("data-max-chars"), 10);
    var counter = document.createElement("p");
    counter.className = "counter";
    counter.id = field.id + "-counter";
    counter.setAttribute("aria-live", "polite");
    field.insertAdjacentElement("afterend", counter);
    var described = field.getAttribute("aria-describedby");
    field.setAttribute("aria-describedby", (described ? described + " " : "") + counter.id);
    function update() {
      var left = max - length(field.value);
      counter.textContent = said(left);
      counter.classList.toggle("over", left < 0);
    }
    field.addEventListener("input", update);
    update();
  }

  document.querySelectorAll("textarea[data-max-chars]").forEach(attach);
})();
