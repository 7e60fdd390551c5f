// The help desk's one script (served by the app itself; every page works without it).
// On a question page: keyboard shortcuts. On an end page: copy the ticket.
"use strict";

(function () {
  function typing(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select" || target.isContentEditable) { return true; }
    if (tag !== "input") { return false; }
    var type = (target.getAttribute("type") || "text").toLowerCase();
    return ["radio", "checkbox", "button", "submit", "reset"].indexOf(type) < 0;
  }

  function say(text) {
    var live = document.getElementById("js-status");
    if (live) { live.textContent = text; }
  }

  function toggleKeys(show) {
    var box = document.getElementById("keys");
    if (!box) { return; }
    box.hidden = show === undefined ? !box.hidden : !show;
    if (!box.hidden) { box.focus(); }
  }

  function shortcuts() {
    var answer = document.querySelector("form[data-answer]");
    if (!answer) { return; }
    document.querySelectorAll("[data-js-only]").forEach(function (el) { el.hidden = false; });
    var close = document.getElementById("keys-close");
    if (close) { close.addEventListener("click", function () { toggleKeys(false); }); }
    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) { return; }
      if (typing(event.target)) {
        // Escape leaves the field, so that the keys work again
        if (event.key === "Escape") { event.target.blur(); }
        return;
      }
      var key = event.key;
      if (/^[1-9]$/.test(key)) {
        var options = answer.querySelectorAll("input[type=radio][name=value]");
        var picked = options[Number(key) - 1];
        if (!picked) { return; }
        picked.checked = true;
        picked.focus();
        say("Picked " + key + ": " + picked.parentNode.textContent.trim() +
            ". Press Enter for Next.");
      } else if (key === "n") {
        var note = document.getElementById("note");
        if (note) { note.focus(); }
      } else if (key === "b") {
        var back = document.getElementById("change-link");
        if (!back) { say("No earlier answer to change yet."); return; }
        window.location.assign(back.href);
      } else if (key === "q") {
        var quit = document.getElementById("quit-form");
        if (quit) { quit.submit(); }
      } else if (key === "?") {
        toggleKeys();
      } else if (key === "Escape") {
        toggleKeys(false);
        return;
      } else {
        return;
      }
      event.preventDefault();
    });
  }

  function copyTicket() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = source.value !== undefined ? source.value : source.textContent;
        var done = function () { say("Ticket copied to the clipboard."); };
        var fallback = function () {
          var range = document.createRange();
          range.selectNodeContents(source);
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          if (document.execCommand("copy")) { done(); } else {
            say("Press Ctrl+C to copy the selected ticket.");
          }
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, fallback);
        } else {
          fallback();
        }
      });
    });
  }

  shortcuts();
  copyTicket();
})();
