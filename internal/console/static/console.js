// Gatehouse console: small progressive enhancements. Loaded from a file
// (the Content-Security-Policy allows no inline script); every page works
// without it, and the server checks everything it guards.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Copy a one-time secret to the clipboard.
  document.querySelectorAll("[data-copy]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var el = document.getElementById(btn.getAttribute("data-copy"));
      var text = el ? el.textContent : "";
      var done = function () { btn.textContent = "Copied"; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, function () { select(el); });
      } else {
        select(el);
      }
    });
  });
  function select(el) {
    var r = document.createRange();
    r.selectNodeContents(el);
    var s = window.getSelection();
    s.removeAllRanges();
    s.addRange(r);
  }
  // Typed confirmation: the button stays disabled until the text matches.
  document.querySelectorAll("[data-must-equal]").forEach(function (input) {
    var form = input.form;
    var btn = form.querySelector("button[type=submit]");
    var check = function () { btn.disabled = input.value !== input.getAttribute("data-must-equal"); };
    input.addEventListener("input", check);
    check();
  });
  // Confirm destructive actions.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.getAttribute("data-confirm"))) ev.preventDefault();
    });
  });
  // Show only the field of the chosen verification-key kind.
  var kind = document.getElementById("vk-kind");
  if (kind) {
    var show = function () {
      document.querySelectorAll("[data-kind]").forEach(function (el) {
        el.hidden = el.getAttribute("data-kind") !== kind.value;
      });
    };
    kind.addEventListener("change", show);
    show();
  }
  document.querySelectorAll("[data-back]").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      if (history.length > 1) { ev.preventDefault(); history.back(); }
    });
  });
});
