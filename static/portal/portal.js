// Behaviour every page shares, kept out of the HTML so the Content-Security-Policy can forbid
// inline scripts, event handlers and style attributes.
(function () {
  "use strict";

  // Progress bars: the server writes the figures as data attributes; set them as CSSOM
  // properties, which the policy allows, unlike a style attribute.
  function drawBars(scope) {
    scope.querySelectorAll("[data-width]").forEach(function (el) {
      el.style.width = el.getAttribute("data-width") + "%";
    });
    scope.querySelectorAll("[data-left]").forEach(function (el) {
      el.style.left = el.getAttribute("data-left") + "%";
    });
  }

  // A form with data-confirm asks first. Listening in the capture phase answers before any
  // page script (the roster's offline queue) sees the submission, so a No stops it there.
  document.addEventListener(
    "submit",
    function (event) {
      var question = event.target.getAttribute("data-confirm");
      if (question && !window.confirm(question)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  // A select with data-autosubmit sends its form as soon as it changes (the language switcher).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.hasAttribute && field.hasAttribute("data-autosubmit") && field.form) {
      field.form.submit();
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      drawBars(document);
    });
  } else {
    drawBars(document);
  }
})();
