// Stop fields of /fahrplan as ARIA 1.2 comboboxes (list autocomplete). Without this script the form
// works as a plain GET form with suggestions from the server.
(function () {
  "use strict";
  function setup(field) {
    var input = field.querySelector("input[type=text]");
    if (!input) return;
    var listId = input.id + "-vorschlaege";
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "stop-suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-labelledby", input.id + "-label");
    list.hidden = true;
    input.insertAdjacentElement("afterend", list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    field.appendChild(status);
    var active = -1;
    var timer = null;
    var asked = "";

    function options() { return list.querySelectorAll("[role=option]"); }
    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function mark(index) {
      var all = options();
      if (!all.length) return;
      active = (index + all.length) % all.length;
      for (var i = 0; i < all.length; i++) all[i].setAttribute("aria-selected", i === active ? "true" : "false");
      input.setAttribute("aria-activedescendant", all[active].id);
      all[active].scrollIntoView({ block: "nearest" });
    }
    function choose(option) {
      input.value = option.getAttribute("data-value");
      close();
      input.focus();
    }
    function show(places) {
      list.textContent = "";
      places.forEach(function (place, i) {
        var li = document.createElement("li");
        li.id = listId + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.setAttribute("data-value", place.name);
        li.textContent = place.name;
        li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(li); });
        list.appendChild(li);
      });
      status.textContent = places.length === 1 ? "1 Vorschlag" : places.length + " Vorschläge";
      if (places.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      } else {
        close();
      }
    }
    function ask() {
      var q = input.value.trim();
      if (q === asked) return;
      asked = q;
      if (!q) { close(); return; }
      fetch("/api/mobilitaet/haltestellen?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (places) { if (input.value.trim() === q) show(places); })
        .catch(function () { close(); });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 150);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        if (list.hidden) { asked = ""; ask(); } else { mark(active + 1); }
        event.preventDefault();
      } else if (event.key === "ArrowUp" && !list.hidden) {
        mark(active - 1);
        event.preventDefault();
      } else if (event.key === "Enter" && !list.hidden && active >= 0) {
        choose(options()[active]);
        event.preventDefault();
      } else if (event.key === "Escape" && !list.hidden) {
        close();
        event.preventDefault();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }
  document.querySelectorAll("[data-combobox]").forEach(setup);
})();
